#!/usr/bin/env bash
# Packs what a GPU machine with PyTorch but no Node and no npm needs to run bench/gpt.ts there:
#   .device/node.xz   this machine's Node 24 (x86-64 Linux), compressed: 121 MB -> ~30 MB
#   .device/data      the gpt template's prepared data, both profiles (prepare.ts needs npm packages)
# On that machine, from a copy of this repository that includes .device/:
#   xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node
#   /tmp/node bench/gpt.ts --device cuda:0 --budget 300 --runs 1 --data .device/data
# .device/ is ignored by git; with the workplace's device tool, name it in `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin=node_modules/node/bin/node
if [ ! -x "$node_bin" ]; then
  echo "device-pack: $node_bin is missing; run npm install first (it brings Node 24)" >&2
  exit 1
fi
command -v xz >/dev/null || { echo "device-pack: xz is missing (apt-get install xz-utils)" >&2; exit 1; }
mkdir -p .device
xz -T0 -6 -c "$node_bin" > .device/node.xz.partial && mv .device/node.xz.partial .device/node.xz
"$node_bin" bench/gpt.ts --data .device/data --prepare-only
du -sh .device/node.xz .device/data
