"""archc's version (written into IR files and manifests); `archc.__version__` is this."""

__version__ = "0.1.0"
