#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Seeds for fuzz_net_ctl: one request of each kind, valid and nearly so."""
import os
import sys

SEEDS = ['{"op":"add","name":"vm1-net0"}', '{"op":"remove","name":"a_b"}',
         '{"op":"list"}', '{"op":"quit"}', '{"op":"add","name":"../x"}',
         '{"name":"n","op":"add","x":1}',
         '{"op":"add","name":"t","trunk":"10:20-30","native":5}',
         '{"op":"add","name":"a","vlan":10}']
os.makedirs(sys.argv[1], exist_ok=True)
for i, seed in enumerate(SEEDS):
    with open(os.path.join(sys.argv[1], str(i)), "w") as f:
        f.write(seed)
