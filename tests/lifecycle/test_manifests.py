"""Kubernetes form: the rendered manifests are valid against the API schemas (offline) and say
what issue 6 asks for."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

# Kubernetes releases whose schemas the manifests must satisfy (kubernetes-validate ships them).
K8S_VERSIONS = ("1.30.0", "1.33.0", kubernetes_validate.latest_version())


# Non-default values, so the tests see each variable flow into the manifests.
RENDER_VARS = {
    "csi_driver_form": "kubernetes",
    "csi_driver_name": "pmem.example.org",
    "csi_driver_kubelet_dir": "/var/lib/k8s-kubelet",
    "csi_driver_k8s_namespace": "pmem-system",
    "csi_driver_image": "registry.example.org/optane-csi:9.9.9",
    "csi_driver_storage_classes": [
        {"name": "fast-ext4", "fstype": "ext4"},
        {"name": "fast-xfs", "fstype": "xfs", "parameters": {"numaNode": 1}, "reclaim_policy": "Retain"},
    ],
}
SOCKET = "/var/lib/k8s-kubelet/plugins/pmem.example.org/csi.sock"


def load_documents(manifest_dir: Path) -> list[dict]:
    documents = []
    for path in sorted(manifest_dir.glob("*.yaml")):
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def by_kind(documents: list[dict], kind: str) -> list[dict]:
    return [doc for doc in documents if doc["kind"] == kind]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, role_runner):
    """Render once with non-default names so the test sees variables flow through."""
    out = tmp_path_factory.mktemp("manifests")
    result = role_runner(
        tmp_path_factory.mktemp("run"),
        {**RENDER_VARS, "csi_driver_manifest_dir": str(out)},
    )
    assert result.rc == 0, result.output
    return out, result


def test_render_writes_all_files(rendered):
    out, _ = rendered
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "00-namespace.yaml",
        "10-rbac.yaml",
        "20-csidriver.yaml",
        "30-daemonset.yaml",
        "40-storageclasses.yaml",
        "Containerfile",
    ]
    assert "FROM " in (out / "Containerfile").read_text()


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_manifest_validates_offline_strict(rendered, version):
    out, _ = rendered
    documents = load_documents(out)
    assert len(documents) == 10
    for document in documents:
        # Strict: unknown fields are errors too. Raises ValidationError with the path.
        kubernetes_validate.validate(document, version, strict=True)


def test_validator_rejects_a_broken_manifest(rendered):
    """The validation above can fail: a misspelled field is caught."""
    out, _ = rendered
    driver = by_kind(load_documents(out), "CSIDriver")[0]
    driver["spec"]["attachRequierd"] = False
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(driver, kubernetes_validate.latest_version(), strict=True)


def test_csidriver_spec(rendered):
    out, _ = rendered
    (driver,) = by_kind(load_documents(out), "CSIDriver")
    assert driver["metadata"]["name"] == "pmem.example.org"
    spec = driver["spec"]
    assert spec["attachRequired"] is False
    assert spec["podInfoOnMount"] is True
    assert spec["storageCapacity"] is True
    assert spec["volumeLifecycleModes"] == ["Persistent"]


def test_daemonset_containers_mounts_and_propagation(rendered):
    out, _ = rendered
    (daemonset,) = by_kind(load_documents(out), "DaemonSet")
    assert daemonset["metadata"]["namespace"] == "pmem-system"
    pod = daemonset["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"driver", "node-driver-registrar", "external-provisioner", "liveness-probe"}

    driver = containers["driver"]
    assert driver["image"] == "registry.example.org/optane-csi:9.9.9"
    assert driver["securityContext"]["privileged"] is True
    assert "--driver-name=pmem.example.org" in driver["args"]
    assert "--node-id=$(NODE_NAME)" in driver["args"]
    assert "--kubelet-dir=/var/lib/k8s-kubelet" in driver["args"]
    mounts = {m["name"]: m for m in driver["volumeMounts"]}
    assert mounts["kubelet-dir"]["mountPath"] == "/var/lib/k8s-kubelet"
    assert mounts["kubelet-dir"]["mountPropagation"] == "Bidirectional"
    assert mounts["dev"]["mountPath"] == "/dev"
    assert mounts["sys"]["mountPath"] == "/sys"

    provisioner = containers["external-provisioner"]
    assert "--node-deployment=true" in provisioner["args"]
    assert "--enable-capacity=true" in provisioner["args"]
    env = {e["name"]: e for e in provisioner["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"

    registrar = containers["node-driver-registrar"]
    assert f"--kubelet-registration-path={SOCKET}" in registrar["args"]

    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["socket-dir"]["hostPath"]["path"] == "/var/lib/k8s-kubelet/plugins/pmem.example.org"
    assert volumes["registration-dir"]["hostPath"]["path"] == "/var/lib/k8s-kubelet/plugins_registry"
    assert volumes["kubelet-dir"]["hostPath"]["path"] == "/var/lib/k8s-kubelet"
    # Every mount refers to a declared volume, every container shares the socket.
    for container in pod["containers"]:
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes
        assert any(m["mountPath"] == "/csi" for m in container["volumeMounts"])


def test_rbac_covers_csistoragecapacity_and_provisioning(rendered):
    out, _ = rendered
    documents = load_documents(out)
    (role,) = by_kind(documents, "Role")
    capacity_rules = [r for r in role["rules"] if "csistoragecapacities" in r["resources"]]
    assert capacity_rules
    assert {"create", "update", "delete", "list", "watch"} <= set(capacity_rules[0]["verbs"])
    assert role["metadata"]["namespace"] == "pmem-system"
    (cluster_role,) = by_kind(documents, "ClusterRole")
    pv_rules = [r for r in cluster_role["rules"] if "persistentvolumes" in r["resources"]]
    assert {"create", "delete"} <= set(pv_rules[0]["verbs"])
    (account,) = by_kind(documents, "ServiceAccount")
    (daemonset,) = by_kind(documents, "DaemonSet")
    assert daemonset["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    for binding in by_kind(documents, "RoleBinding") + by_kind(documents, "ClusterRoleBinding"):
        assert binding["subjects"][0]["name"] == account["metadata"]["name"]
        assert binding["subjects"][0]["namespace"] == "pmem-system"


def test_storage_classes(rendered):
    out, _ = rendered
    classes = {c["metadata"]["name"]: c for c in by_kind(load_documents(out), "StorageClass")}
    assert set(classes) == {"fast-ext4", "fast-xfs"}
    for name, fstype in (("fast-ext4", "ext4"), ("fast-xfs", "xfs")):
        assert classes[name]["provisioner"] == "pmem.example.org"
        assert classes[name]["volumeBindingMode"] == "WaitForFirstConsumer"
        assert classes[name]["parameters"]["csi.storage.k8s.io/fstype"] == fstype
    assert classes["fast-xfs"]["parameters"]["numaNode"] == "1"
    assert classes["fast-xfs"]["reclaimPolicy"] == "Retain"
    assert classes["fast-ext4"]["reclaimPolicy"] == "Delete"


def test_rerender_is_idempotent(rendered, run_role):
    out, _ = rendered
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = run_role(
        {**RENDER_VARS, "csi_driver_manifest_dir": str(out)},
    )
    assert result.rc == 0, result.output
    assert result.changed == 0, result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_check_mode_renders_nothing(tmp_path, run_role):
    out = tmp_path / "manifests"
    result = run_role({"csi_driver_form": "kubernetes", "csi_driver_manifest_dir": str(out)}, check=True)
    assert result.rc == 0, result.output
    assert not out.exists()


def test_bad_storage_class_fstype_is_refused(tmp_path, run_role):
    out = tmp_path / "manifests"
    result = run_role(
        {
            "csi_driver_form": "kubernetes",
            "csi_driver_manifest_dir": str(out),
            "csi_driver_storage_classes": [{"name": "x", "fstype": "btrfs"}],
        }
    )
    assert result.rc != 0
    assert "fstype" in result.output and "btrfs" in result.output
    assert not out.exists()
