"""What site.yml left on the guest: no Optane modules, labelled regions, the declared
namespaces with DAX mounts, and the CSI driver service."""

from __future__ import annotations

import shlex

import pytest
from conftest import (
    ENDPOINT,
    SERVICE,
    STATX_ATTR_DAX,
    csi,
    driver_installed,
    mount_of,
    namespace_named,
    ndctl_regions,
    parse_sizes,
    region_of,
    statx_attributes,
)

LAYOUT_NAMES = ["data-ext4", "data-xfs", "cache-dax"]


def test_ipmctl_reports_no_pmem_modules(host):
    """QEMU has no Optane firmware interface: the appdirect role must have skipped the goal."""
    cmd = host.run("ipmctl show -dimm")
    assert cmd.rc == 1
    assert "No PMem modules in the system" in cmd.stdout + cmd.stderr


def test_two_labelled_regions_on_two_numa_nodes(host):
    regions = {r["dev"]: r for r in ndctl_regions(host)}
    assert sorted(regions) == ["region0", "region1"]
    assert {regions["region0"]["numa_node"], regions["region1"]["numa_node"]} == {0, 1}
    for region in regions.values():
        assert "iset_id" in region, f"{region['dev']} is still label-less"
        assert region["size"] % (16 * 1024 * 1024) == 0, region
        assert region["align"] == 16 * 1024 * 1024


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_namespace_as_declared(host, layout, name):
    (entry,) = [e for e in layout if e["name"] == name]
    namespace = namespace_named(host, name)
    assert namespace is not None, f"namespace {name} does not exist"
    assert namespace["mode"] == entry.get("mode", "fsdax")
    assert region_of(namespace) == entry["region"]
    declared = parse_sizes(entry["size"])
    # fsdax/devdax keep their page map on the namespace: usable is a little below the request.
    assert declared * 0.95 <= namespace["size"] <= declared, (declared, namespace)
    if namespace["mode"] == "devdax":
        assert host.run(f"test -c /dev/{namespace['chardev']}").rc == 0
    else:
        assert host.run(f"test -b /dev/{namespace['blockdev']}").rc == 0


@pytest.mark.parametrize("name", ["data-ext4", "data-xfs"])
def test_mount_carries_dax(host, layout, name):
    (entry,) = [e for e in layout if e["name"] == name]
    namespace = namespace_named(host, name)
    assert namespace is not None, f"namespace {name} does not exist"
    mount = mount_of(host, entry["mount_path"])
    assert mount is not None, f"{entry['mount_path']} is not mounted"
    assert mount["source"] == f"/dev/{namespace['blockdev']}"
    assert mount["fstype"] == entry["filesystem"]
    assert "dax=always" in mount["options"].split(","), mount
    probe = f"{entry['mount_path']}/dax-probe"
    host.check_output(f"echo dax > {shlex.quote(probe)} && sync")
    assert statx_attributes(host, probe) & STATX_ATTR_DAX, f"{probe} is not a DAX file"
    fstab = host.file("/etc/fstab").content_string
    assert any(line.split()[1:2] == [entry["mount_path"]] for line in fstab.splitlines() if line.strip()), (
        f"{entry['mount_path']} has no fstab entry, it would not come back after a reboot"
    )


def test_driver_service_running(host):
    driver_installed(host)
    service = host.service(SERVICE.removesuffix(".service"))
    assert service.is_enabled
    assert service.is_running
    socket = ENDPOINT.removeprefix("unix://")
    assert host.run(f"test -S {socket}").rc == 0, f"no socket at {socket}"
    assert csi(host, "Probe").get("ready", True) is True
    assert csi(host, "GetPluginInfo")["name"] == "optane.csi.pmem.io"
