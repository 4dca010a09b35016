using System.Xml.Linq;
using Azure;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace EnvFabric.Functions.Auth;

/// <summary>
/// The data-protection key ring (which signs and encrypts session cookies) in a blob container of the
/// storage account, so sessions survive restarts and every host instance reads the same ring.
/// </summary>
public sealed class BlobXmlRepository(BlobContainerClient container) : IXmlRepository
{
    private bool _created;

    // IXmlRepository is synchronous; the ring is read once at start and then about once a day.
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        EnsureContainer();
        var elements = new List<XElement>();
        foreach (var blob in container.GetBlobs())
        {
            try
            {
                var content = container.GetBlobClient(blob.Name).DownloadContent().Value.Content;
                elements.Add(XElement.Parse(content.ToString()));
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Removed between listing and reading.
            }
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        EnsureContainer();
        var name = (string.IsNullOrWhiteSpace(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName) + ".xml";
        container.GetBlobClient(name).Upload(BinaryData.FromString(element.ToString(SaveOptions.DisableFormatting)), overwrite: true);
    }

    private void EnsureContainer()
    {
        if (!_created)
        {
            container.CreateIfNotExists();
            _created = true;
        }
    }
}
