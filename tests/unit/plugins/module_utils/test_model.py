import json

from plugins.module_utils.model import NULL_UUID, DaxDevice, Goal, Inventory, Mapping, Namespace, Region


def test_namespace_properties():
    ns = Namespace("namespace1.2", "devdax", 1054867456, chardev="dax1.2", name="csi-" + "a" * 40)
    assert ns.enabled and ns.device == "/dev/dax1.2" and ns.region_id == 1 and ns.is_driver_owned
    seed = Namespace("namespace0.3", "raw", 0, uuid=NULL_UUID, sector_size=512, state="disabled")
    assert seed.is_seed and not seed.enabled and seed.device is None
    disabled = Namespace(
        "namespace0.1", "raw", 536870912, uuid="9499086b-e39d-4232-ad50-5a144f1d9921", state="disabled"
    )
    assert not disabled.is_seed


def test_region_properties_and_inventory_helpers():
    web = Namespace("namespace0.0", "fsdax", 1054867456, blockdev="pmem0", name="web", region="region0")
    region = Region(
        "region0",
        4 << 30,
        iset_id=None,
        mappings=(Mapping("nmem0", 0, 4 << 30, 0), Mapping("nmem1", 0, 4 << 30, 1)),
        namespaces=(web,),
    )
    assert region.label_less and region.interleave_ways == 2 and region.dimms == ("nmem0", "nmem1")
    inv = Inventory(regions=(region,))
    assert inv.namespace_by_name("web") is web and inv.namespace_by_name("nope") is None
    assert inv.namespace_by_dev("namespace0.0") is web and inv.region_of(web) is region
    assert inv.label_less_regions == [region]
    facts = inv.to_dict()
    json.dumps(facts)  # JSON-safe for module results
    assert facts["namespaces"][0]["device"] == "/dev/pmem0"
    assert facts["regions"][0]["label_less"] and facts["regions"][0]["interleave_ways"] == 2
    assert "raw" not in facts["regions"][0]


def test_goal_status_prefix():
    new = Goal(
        0,
        "0x0001",
        status="New: A reboot is required for the memory allocation goal to be processed by the BIOS.",
    )
    assert new.status_prefix == "New" and new.pending and not new.failed
    bad = Goal(
        0, "0x0001", status="Failed - Bad request: The BIOS failed to process the memory allocation goal."
    )
    assert bad.status_prefix == "Failed - Bad request" and bad.failed and not bad.pending
    assert Goal(0, "0x0001").pending  # goals without Status (no -a) are pending


def test_dax_device_dict():
    dev = DaxDevice("dax0.0", 1054867456, mode="system-ram", movable=True, raw={"x": 1})
    assert dev.to_dict()["mode"] == "system-ram" and "raw" not in dev.to_dict()


def test_to_dict_drops_raw_at_every_depth():
    ns = Namespace(
        "namespace0.0",
        "devdax",
        1,
        raw={"dev": "namespace0.0"},
        dax_devices=(DaxDevice("dax0.0", 1, raw={"chardev": "dax0.0"}),),
    )
    region = Region("region0", 1, namespaces=(ns,), raw={"dev": "region0"})
    facts = region.to_dict()
    assert "raw" not in facts and "raw" not in facts["namespaces"][0]
    assert "raw" not in facts["namespaces"][0]["dax_devices"][0]
    assert facts["namespaces"][0]["dax_devices"][0]["chardev"] == "dax0.0"


def test_values_compare_and_hash_by_compared_fields_only():
    first = Namespace("namespace0.0", "fsdax", 1 << 30, name="db0", raw={"from": "ndctl"})
    same = Namespace("namespace0.0", "fsdax", 1 << 30, name="db0", raw={"other": "json"})
    assert first == same and hash(first) == hash(same) and len({first, same}) == 1
    assert first != Namespace("namespace0.0", "fsdax", 2 << 30, name="db0")
    # Another class with equal field values is not equal.
    assert Mapping("nmem0", 0, 1, 0) != ("nmem0", 0, 1, 0)
    goal = Goal(0, "0x0001", status="New", attributes={"Status": "New"})
    assert goal == Goal(0, "0x0001", status="New") and hash(goal) == hash(Goal(0, "0x0001", status="New"))


def test_values_repr_shows_fields_but_not_raw():
    text = repr(DaxDevice("dax0.0", 4096, raw={"secret": 1}))
    assert text.startswith("DaxDevice(chardev='dax0.0', size=4096, mode=None")
    assert "raw" not in text and "secret" not in text


def test_values_reject_bad_arguments_like_a_dataclass():
    import pytest

    with pytest.raises(TypeError, match="missing required argument 'size'"):
        Region("region0")
    with pytest.raises(TypeError, match="unexpected keyword argument 'sise'"):
        Region("region0", sise=1)
    with pytest.raises(TypeError, match="multiple values for argument 'dev'"):
        Region("region0", 1, dev="region1")
    with pytest.raises(TypeError, match="at most"):
        Mapping("nmem0", 0, 1, 0, 5)


def test_default_factories_give_each_value_its_own_container():
    first, second = Region("region0", 1), Region("region1", 1)
    assert first.raw == {} and first.raw is not second.raw
    assert Region("region0", 1).align == 16 * 1024 * 1024 and Region("region0", 1).mappings == ()
