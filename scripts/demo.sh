#!/usr/bin/env bash
# make demo: provision a simulated fleet end to end with the real playbooks,
# print the per-host table (facts.yml), then run again and show changed=0.
# Needs only the venv (.venv, with the pmem-sim simulator) and the collection
# link (.build/collections); `make demo` prepares both.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
DEMO_DIR=${DEMO_DIR:-$ROOT/.build/demo}
DEMO_HOSTS=${DEMO_HOSTS:-6}

export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.build/collections}
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
export ANSIBLE_FORKS=${ANSIBLE_FORKS:-8}

if [ ! -e "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/pmem/optane" ]; then
  mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/pmem"
  ln -sfn "$ROOT" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/pmem/optane"
fi

banner() { printf '\n==== %s ====\n' "$*"; }

banner "Building a simulated fleet of $DEMO_HOSTS factory-fresh hosts in $DEMO_DIR"
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
"$VENV/bin/python" "$ROOT/scripts/simfleet.py" --dir "$DEMO_DIR" --hosts "$DEMO_HOSTS" --topologies "${DEMO_TOPOLOGIES:-1s,2s,nvdimm}"

banner "First run: ansible-playbook pmem.optane.provision (goal, reboot, namespaces)"
ansible-playbook -i "$DEMO_DIR/inventory.yml" pmem.optane.provision | tee "$DEMO_DIR/first-run.log"

banner "The fleet: ansible-playbook pmem.optane.facts"
ansible-playbook -i "$DEMO_DIR/inventory.yml" pmem.optane.facts -e "pmem_facts_report=$DEMO_DIR/fleet.txt" >"$DEMO_DIR/facts.log"
cat "$DEMO_DIR/fleet.txt"

banner "Second run: the same playbook on the compliant fleet"
ansible-playbook -i "$DEMO_DIR/inventory.yml" pmem.optane.provision >"$DEMO_DIR/second-run.log"
sed -n '/^PLAY RECAP/,$p' "$DEMO_DIR/second-run.log"

changed=$(sed -n '/^PLAY RECAP/,$p' "$DEMO_DIR/second-run.log" | grep -o 'changed=[0-9]*' | grep -vc '^changed=0$' || true)
if [ "$changed" != "0" ]; then
  echo "Second run changed something on $changed host(s): see $DEMO_DIR/second-run.log" >&2
  exit 1
fi
echo "Second run: changed=0 on all $DEMO_HOSTS hosts."
