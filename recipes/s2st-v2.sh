#!/usr/bin/env bash
# The wave-2 direct S2ST stack (issue #27) from a bare clone on the developer machine (2 CPU cores), one stage per
# call so that two stages can train side by side, each pinned to one core. Every stage resumes where it stopped:
# the corpus from its plan.json, each training run from its runs/NAME/checkpoints/last.ckpt; a finished stage
# (runs/NAME/model present) is skipped. Run it from the repository root after `make setup`.
#
#   bash recipes/s2st-v2.sh corpus                  # corpus v2, both cores (~1.5 h)
#   bash recipes/s2st-v2.sh speaker-encoder [CORE]  # speaker encoder v2, 2500 steps (~45 min on one core)
#   bash recipes/s2st-v2.sh st [CORE]               # speech translator v2 continued: 2500 more steps from
#                                                   #   pretrained/st, cosine (~2 h alone on one core)
#   bash recipes/s2st-v2.sh synthesizer [CORE]      # acoustic synthesizer v2, 12000 steps (~7 h on one core)
#   bash recipes/s2st-v2.sh screen STEP [CORE]      # the synthesizer's checkpoint once at STEP or past it: snapshot,
#                                                   #   a bundle folder of links, dev-200 translated and screened
#
# CORE (default 0) pins the stage with taskset and one thread; a GPU machine would drop the pinning and add
# `--set trainer.accelerator=gpu` with the GPU lines of each config's header.
#
# The synthesizer is the pitch experiment's run e in one run (docs/benchmarks/s2st/pitch-experiment/README.md,
# fifth to seventh parts): there it grew through runs c and d (23 500 steps in all) before the wider decoder;
# here the wave-1 synthesizer's encoder is the start and the width-96 decoder is fresh from step 0. It reads the
# states of pretrained/st; once `st` has finished and beaten pretrained/st on dev, continue the synthesizer on the
# new states with SYNTH_TRANSLATOR=runs/st-v2c/model (a new feature cache is made from it; the run resumes).
set -euo pipefail
if [ -x .venv/bin/diffs2st ]; then export PATH="$PWD/.venv/bin:$PATH"; fi

CORPUS=corpora/synth-cvss-v2
SYNTH_TRANSLATOR=${SYNTH_TRANSLATOR:-pretrained/st}
SYNTH_RUN=runs/synth-v2-f

stage=${1:?"usage: bash recipes/s2st-v2.sh corpus|speaker-encoder|st|synthesizer|screen STEP [CORE]"}
shift
if [ "$stage" = screen ]; then
    step=${1:?"screen needs the step of the synthesizer checkpoint to judge"}
    shift
fi
core=${1:-0}
mkdir -p runs out
pinned=(env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c "$core")

# train CONFIG OUT ARGS...: start the run, resume it, or skip it when it has finished.
train() {
    local config=$1 out=$2
    shift 2
    if [ -f "$out/model/config.yaml" ]; then
        echo "$out has finished (its model/ is there): skipped"
        return
    fi
    if [ -f "$out/checkpoints/last.ckpt" ]; then
        "${pinned[@]}" diffs2st train "$config" --out "$out" --resume "$@"
    else
        "${pinned[@]}" diffs2st train "$config" --out "$out" "$@"
    fi
}

# A resumed run must not be given --init-from or --fresh again; they only seed a new run.
init_args() {
    if [ ! -f "$2/checkpoints/last.ckpt" ]; then
        echo "--init-from $1 ${3:+--fresh $3}"
    fi
}

case $stage in
corpus)
    diffs2st data build synth-cvss --out "$CORPUS" --jobs 2
    head -n 200 "$CORPUS/dev.jsonl" > "$CORPUS/dev-200.jsonl"
    ;;
speaker-encoder)
    train configs/speaker-encoder.yaml runs/speaker-encoder-v2 --set "data.train_manifest=$CORPUS/train.jsonl"
    ;;
st)
    # shellcheck disable=SC2046
    train configs/st-multidecoder.yaml runs/st-v2c $(init_args pretrained/st runs/st-v2c) \
        --set trainer.max_steps=2500 --set trainer.lr_schedule=cosine --set trainer.min_lr_ratio=0.1
    ;;
synthesizer)
    if [ ! -f runs/speaker-encoder-v2/model/config.yaml ]; then
        echo "the synthesizer reads speaker encoder v2's embeddings: run the speaker-encoder stage first" >&2
        exit 1
    fi
    cache=runs/synth-v2-f-features-$(basename "$(dirname "$SYNTH_TRANSLATOR")")-$(basename "$SYNTH_TRANSLATOR").safetensors
    # shellcheck disable=SC2046
    train configs/s2st-synthesizer.yaml "$SYNTH_RUN" $(init_args pretrained/synthesizer "$SYNTH_RUN" decoder.) \
        --set model.decoder.dim=96 --set model.pitch=true --set data.pitch=true \
        --set "data.translator=$SYNTH_TRANSLATOR" --set data.speaker_encoder=runs/speaker-encoder-v2/model \
        --set data.augmented_copies=0 --set "data.train_manifest=$CORPUS/train.jsonl" \
        --set "data.family_weights={kokoro: 2}" --set "data.cache=$cache" \
        --set trainer.max_steps=12000 --set trainer.learning_rate=0.0005 --set trainer.warmup_steps=300 \
        --set trainer.lr_schedule=cosine --set trainer.min_lr_ratio=0.05
    ;;
screen)
    # The checkpoint is rewritten every trainer.checkpoint_every steps: export it once it has reached STEP, and name
    # the snapshot by the step it holds (metrics.json "steps").
    while :; do
        rm -rf "$SYNTH_RUN-snap-partial"
        if [ -f "$SYNTH_RUN/checkpoints/last.ckpt" ] \
                && "${pinned[@]}" diffs2st snapshot "$SYNTH_RUN" -o "$SYNTH_RUN-snap-partial" > /dev/null; then
            held=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["steps"])' \
                   "$SYNTH_RUN-snap-partial/metrics.json")
            if [ "$held" -ge "$step" ]; then
                break
            fi
        fi
        sleep 120
    done
    step=$held
    snap=$SYNTH_RUN-snap-$step
    bundle=out/bundles/f$step
    rm -rf "$snap"
    mv "$SYNTH_RUN-snap-partial" "$snap"
    mkdir -p "$bundle" out/dev
    ln -sfn "$PWD/$SYNTH_TRANSLATOR" "$bundle/st"
    ln -sfn "$PWD/runs/speaker-encoder-v2/model" "$bundle/speaker-encoder"
    ln -sfn "$PWD/$snap" "$bundle/synthesizer"
    ln -sfn "$PWD/pretrained/vocoder" "$bundle/vocoder"
    if [ ! -f "out/dev/f$step/translations.jsonl" ]; then
        "${pinned[@]}" diffs2st translate "$CORPUS/dev-200.jsonl" -o "out/dev/f$step" --model "$bundle"
    fi
    "${pinned[@]}" python benchmarks/asr_screen.py "$CORPUS/dev-200.jsonl" --outputs out/dev/f* \
        --out docs/benchmarks/s2st/pitch-experiment/screen-run-f
    ;;
*)
    echo "unknown stage $stage" >&2
    exit 2
    ;;
esac
