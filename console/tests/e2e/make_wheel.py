"""Writes a pure-Python wheel NAME-VERSION-py3-none-any.whl into DIR: module NAME with VALUE = VERSION."""
import base64, hashlib, os, sys, zipfile

directory, name, version = sys.argv[1:4]
dist = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f'VALUE = "{version}"\n',
    f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: EnvFabric console test package\n",
    f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: envfabric-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{path},sha256={digest},{len(text.encode())}")
record.append(f"{dist}/RECORD,,")
files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
with zipfile.ZipFile(os.path.join(directory, f"{name}-{version}-py3-none-any.whl"), "w") as whl:
    for path, text in files.items():
        whl.writestr(path, text)
