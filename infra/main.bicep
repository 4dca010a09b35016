// EnvFabric in Azure: the local pieces and what replaces them.
//   Azurite (blobs, queues, tables)  -> a StorageV2 account, reached with a managed identity (no keys)
//   the local DATA_ROOT directory     -> an NFS 4.1 share on a Premium FileStorage account (hard links and
//                                        symlinks work there, so uv's cache links into environments; SMB cannot)
//   the host (functions/)             -> a Container App with ingress, AzureWebJobsStorage__accountName
//   the runner (container-runner/)    -> one Container App per runner pool, without ingress, mounting the share
//                                        at DATA_ROOT, scaled by KEDA on the length of its pool's job queue
// Build: `dotnet build infra/Infra.proj` (runs the Bicep compiler from its NuGet package).

targetScope = 'resourceGroup'

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Prefix of resource names: 3 to 11 lower-case letters and digits.')
@minLength(3)
@maxLength(11)
param baseName string = 'envfabric'

@description('Host image (ASP.NET Core host built from functions/), e.g. myregistry.azurecr.io/envfabric-host:1.0.')
param hostImage string

@description('Runner image built from container-runner/Dockerfile (uv and micromamba inside).')
param runnerImage string

@description('Name of an Azure Container Registry in this resource group holding the images; the identity gets AcrPull on it. Empty for public images.')
param registryName string = ''

@description('The master key (FUNCTIONS_MASTER_KEY); at least 16 characters.')
@secure()
@minLength(16)
param masterKey string

@description('Provisioned size of the NFS share in GiB (Premium file shares bill by provisioned size; 100 is the minimum).')
@minValue(100)
param shareQuotaGiB int = 256

@description('A runner pool: its runners take jobs from its queue only (RUNNER_POOL).')
type runnerPool = {
  @description('Pool name as in pools.json (lower-case letters, digits, \'-\'); at most 12 characters here, so the app name stays within 32.')
  @minLength(1)
  @maxLength(12)
  name: string

  @description('Fewest runner replicas; 0 lets the pool scale to zero while its queue is empty (jobs wait until a runner starts).')
  @minValue(0)
  @maxValue(300)
  minReplicas: int

  @description('Most runner replicas.')
  @minValue(1)
  @maxValue(300)
  maxReplicas: int

  @description('Waiting jobs per replica: KEDA adds a replica for every queueLength messages on the pool\'s queue.')
  @minValue(1)
  @maxValue(10000)
  queueLength: int
}

@description('Runner pools: one runner Container App each, scaled between minReplicas and maxReplicas by its queue (runner-jobs for default, runner-jobs-{name} otherwise). One pool must be named default.')
@minLength(1)
param pools runnerPool[] = [
  {
    name: 'default'
    minReplicas: 1
    maxReplicas: 3
    queueLength: 5
  }
]

@description('Jobs a runner runs at once.')
param maxConcurrentTasks int = 50

@description('Package index for uv/pip; empty means PyPI.')
param pipIndexUrl string = ''

@description('Durable task hub shared by the host and the runner (host.json extensions.durableTask.hubName).')
param hubName string = 'EnvFabric'

var suffix = uniqueString(resourceGroup().id, baseName)
var storageName = take('${baseName}st${suffix}', 24)
var shareAccountName = take('${baseName}nfs${suffix}', 24)
var shareName = 'envfabric'
// The runner image (container-runner/Dockerfile) keeps uv's cache, interpreters and conda packages under /mnt/nas.
var dataRoot = '/mnt/nas'

// Built-in role definition ids.
var roles = {
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${baseName}-id'
  location: location
}

// Tables, queues and blobs: durable hub, runner queue, logs, keys, data-protection key ring.
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Identity only: the services never see an account key.
    allowSharedKeyAccess: false
  }
}

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in [roles.blobDataContributor, roles.queueDataContributor, roles.tableDataContributor]: {
  name: guid(storage.id, identity.id, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

// NFS needs a virtual network: the share accepts only the Container Apps subnet (service endpoint).
resource vnet 'Microsoft.Network/virtualNetworks@2024-01-01' = {
  name: '${baseName}-vnet'
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.40.0.0/16'
      ]
    }
    subnets: [
      {
        name: 'apps'
        properties: {
          addressPrefix: '10.40.0.0/23'
          delegations: [
            {
              name: 'apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          serviceEndpoints: [
            {
              service: 'Microsoft.Storage'
            }
          ]
        }
      }
    ]
  }
}

resource shareAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: shareAccountName
  location: location
  kind: 'FileStorage'
  sku: {
    name: 'Premium_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    // NFS 4.1 carries no TLS; the network rules below are its protection.
    supportsHttpsTrafficOnly: false
    allowBlobPublicAccess: false
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      virtualNetworkRules: [
        {
          id: vnet.properties.subnets[0].id
          action: 'Allow'
        }
      ]
    }
  }
}

resource fileServices 'Microsoft.Storage/storageAccounts/fileServices@2023-05-01' = {
  parent: shareAccount
  name: 'default'
}

// envs/, uv_cache/, env_info/, scripts/, projects/ all live on this one share (one file system: hard links).
resource share 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-05-01' = {
  parent: fileServices
  name: shareName
  properties: {
    enabledProtocols: 'NFS'
    rootSquash: 'NoRootSquash'
    shareQuota: shareQuotaGiB
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${baseName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appsEnvironment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: '${baseName}-env'
  location: location
  properties: {
    vnetConfiguration: {
      infrastructureSubnetId: vnet.properties.subnets[0].id
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource environmentShare 'Microsoft.App/managedEnvironments/storages@2025-01-01' = {
  parent: appsEnvironment
  name: 'envfabric-share'
  properties: {
    nfsAzureFile: {
      server: '${shareAccount.name}.file.${environment().suffixes.storage}'
      shareName: '/${shareAccount.name}/${share.name}'
      accessMode: 'ReadWrite'
    }
  }
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(registryName)) {
  name: registryName
}

resource registryPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(registryName)) {
  name: guid(resourceGroup().id, registryName, identity.id, roles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

var registries = empty(registryName) ? [] : [
  {
    server: '${registryName}.azurecr.io'
    identity: identity.id
  }
]

// The settings both processes read, as in local.settings.json Values.
var commonEnv = [
  { name: 'AzureWebJobsStorage__accountName', value: storage.name }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  { name: 'DATA_ROOT', value: dataRoot }
  { name: 'MAX_CONCURRENT_TASKS', value: string(maxConcurrentTasks) }
  { name: 'PIP_INDEX_URL', value: pipIndexUrl }
  // Completion callbacks go out to the internet only: in Azure nothing the callers own listens on loopback.
  { name: 'CALLBACK_ALLOW_LOOPBACK', value: 'false' }
  // The runner image has no host.json: both processes take the hub from here, so they meet on one hub.
  { name: 'AzureFunctionsJobHost__extensions__durableTask__hubName', value: hubName }
]

var shareVolume = [
  {
    name: 'share'
    storageType: 'NfsAzureFile'
    storageName: environmentShare.name
  }
]

var shareMount = [
  {
    volumeName: 'share'
    mountPath: dataRoot
  }
]

resource hostApp 'Microsoft.App/containerApps@2025-01-01' = {
  name: '${baseName}-host'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: appsEnvironment.id
    workloadProfileName: 'Consumption'
    configuration: {
      ingress: {
        external: true
        targetPort: 8080
        transport: 'http'
      }
      registries: registries
      secrets: [
        {
          name: 'master-key'
          value: masterKey
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'host'
          image: hostImage
          resources: {
            cpu: json('1.0')
            memory: '2Gi'
          }
          env: concat(commonEnv, [
            // The host binds 127.0.0.1 unless told otherwise.
            { name: 'ASPNETCORE_URLS', value: 'http://+:8080' }
            // Behind the ingress: the client's address (per-address rate limits) and https (Secure session cookie).
            { name: 'ASPNETCORE_FORWARDEDHEADERS_ENABLED', value: 'true' }
            { name: 'FUNCTIONS_MASTER_KEY', secretRef: 'master-key' }
          ])
          volumeMounts: shareMount
          // Probes use the port, not /api/health: that answers 503 when the runner is down, which must not take
          // the API out of rotation or restart a healthy host. /api/health is for monitoring.
          probes: [
            {
              type: 'Readiness'
              tcpSocket: {
                port: 8080
              }
              periodSeconds: 10
            }
            {
              type: 'Liveness'
              tcpSocket: {
                port: 8080
              }
              periodSeconds: 30
              failureThreshold: 5
            }
          ]
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: 3
      }
      volumes: shareVolume
    }
  }
  dependsOn: [
    storageRoles
    registryPull
  ]
}

// One runner app per pool. The default pool keeps the app and queue names of deployments from before pools.
resource runnerApps 'Microsoft.App/containerApps@2025-01-01' = [for pool in pools: {
  name: pool.name == 'default' ? '${baseName}-runner' : '${baseName}-runner-${pool.name}'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: appsEnvironment.id
    workloadProfileName: 'Consumption'
    configuration: {
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'runner'
          image: runnerImage
          resources: {
            cpu: json('2.0')
            memory: '4Gi'
          }
          env: concat(commonEnv, [
            { name: 'RUNNER_POOL', value: pool.name }
          ])
          volumeMounts: shareMount
        }
      ]
      // Each replica registers itself and heartbeats; jobs are spread by queue leases. KEDA reads the queue's
      // length with the runners' identity, which holds Storage Queue Data Contributor on the account (storageRoles).
      scale: {
        minReplicas: pool.minReplicas
        maxReplicas: pool.maxReplicas
        rules: [
          {
            name: 'queue-length'
            custom: {
              type: 'azure-queue'
              metadata: {
                queueName: pool.name == 'default' ? 'runner-jobs' : 'runner-jobs-${pool.name}'
                queueLength: string(pool.queueLength)
                accountName: storage.name
              }
              identity: identity.id
            }
          }
        ]
      }
      volumes: shareVolume
    }
  }
  dependsOn: [
    storageRoles
    registryPull
  ]
}]

output hostUrl string = 'https://${hostApp.properties.configuration.ingress.fqdn}'
output storageAccountName string = storage.name
output shareAccountName string = shareAccount.name
output identityClientId string = identity.properties.clientId
