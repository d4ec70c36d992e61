"""pmem.optane CSI driver: Identity, Controller and Node services over the shared PMem library."""

__version__ = "0.1.0"
# The CSI specification version the wire definitions (proto/csi.proto) follow.
CSI_SPEC_VERSION = "1.12.0"
