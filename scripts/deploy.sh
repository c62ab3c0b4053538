#!/usr/bin/env bash
# Builds edba's five Lambda functions and deploys scripts/template.yaml.
#
# Usage:
#   scripts/deploy.sh --stack-name NAME [--region REGION] [--dry-run] [--skip-build]
#                     [--parameters-file FILE] [--state-store-ca FILE] [--project DIR]
#                     [Key=Value ...]
#
#   Key=Value        a template parameter, e.g. SubnetIds=subnet-1,subnet-2
#                    StateStoreSecretArn=arn:aws:secretsmanager:…  (repeatable)
#   --parameters-file FILE
#                    Key=Value lines (blank lines and # comments ignored);
#                    arguments given on the command line win
#   --dry-run        print every command and the parameters; run nothing
#   --skip-build     deploy what the last build left in .aws-sam/build
#   --state-store-ca FILE
#                    the CA certificates (PEM) the state store's certificate
#                    chains to, for a MySQL server outside RDS; default: the
#                    RDS CA bundle, downloaded now
#   --project DIR    the project whose edba.toml (datasets, tables) and job SQL
#                    go to code/ in the bucket; default: sampledata (the
#                    sample). `edba project push DIR --bucket B` changes it
#                    later without a deploy.
#
# TLS to the state store: the track, evaluate and record functions connect
# with ssl-mode=VERIFY_IDENTITY and ssl-ca=/var/task/rds-global-bundle.pem
# (the template's EDBA_STATE_STORE_URL). This script downloads the RDS CA
# bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)
# to .aws-sam/rds-global-bundle.pem at every deploy and adds it to those
# three packages; Lambda unpacks a package in /var/task. Without it they
# refuse to connect (Edba.InvalidInput naming the file), never in plaintext.
#
# Needs: cargo, cargo-lambda (scripts/tools/install.sh --build-tools puts it in
# scripts/.venv), the AWS SAM CLI, the AWS CLI for uploading job code, and
# curl for the CA bundle.
# Credentials come from the usual AWS environment; nothing here reads them.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
binaries=(validate track evaluate load record)
# The functions whose EDBA_STATE_STORE_URL names the CA bundle (the
# template's logical ids), and where the URL expects it in their package.
state_store_functions=(TrackFunction EvaluateFunction RecordFunction)
ca_bundle_name=rds-global-bundle.pem
rds_ca_bundle_url=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem

usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "deploy.sh: $*" >&2; exit 1; }

dry_run=false
skip_build=false
stack=""
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
params_file=""
state_store_ca=""
project="sampledata"
declare -a cli_params=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --skip-build) skip_build=true ;;
    --stack-name) stack="${2:?--stack-name needs a value}"; shift ;;
    --stack-name=*) stack="${1#*=}" ;;
    --region) region="${2:?--region needs a value}"; shift ;;
    --region=*) region="${1#*=}" ;;
    --parameters-file) params_file="${2:?--parameters-file needs a value}"; shift ;;
    --parameters-file=*) params_file="${1#*=}" ;;
    --state-store-ca) state_store_ca="${2:?--state-store-ca needs a value}"; shift ;;
    --state-store-ca=*) state_store_ca="${1#*=}" ;;
    --project) project="${2:?--project needs a value}"; shift ;;
    --project=*) project="${1#*=}" ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *=*) cli_params+=("$1") ;;
    *) usage >&2; die "expected Key=Value, got: $1" ;;
  esac
  shift
done

[[ -n "$stack" ]] || { usage >&2; die "--stack-name is required"; }
[[ -r "$project/edba.toml" ]] || die "no project file $project/edba.toml (--project DIR)"
if [[ -n "$state_store_ca" ]]; then
  [[ -r "$state_store_ca" ]] || die "cannot read the state store CA file $state_store_ca"
  state_store_ca="$(cd "$(dirname "$state_store_ca")" && pwd)/$(basename "$state_store_ca")"
fi
[[ "$stack" =~ ^[A-Za-z][A-Za-z0-9-]{0,50}$ ]] ||
  die "stack name '$stack': letters, digits and hyphens, starting with a letter, at most 51 characters (function names append -evaluate)"

# Parameters: the file first, then the command line, a later key replacing an earlier one.
# The template's parameter names: the two-space keys of its Parameters section.
known_params=" $(awk '/^Parameters:/{p=1;next} /^[^ #]/{p=0} p && /^  [A-Za-z0-9]+:$/{sub(/:$/,"");print $1}' \
  "$repo/scripts/template.yaml" | tr '\n' ' ')"
declare -A param_value=()
declare -a param_order=()
add_param() {
  local kv="$1" key="${1%%=*}"
  [[ "$key" =~ ^[A-Za-z0-9]+$ ]] || die "bad parameter name in '$kv'"
  [[ "$known_params" == *" $key "* ]] || die "the template has no parameter $key (it has:$known_params)"
  [[ -v "param_value[$key]" ]] || param_order+=("$key")
  param_value[$key]="${kv#*=}"
}
if [[ -n "$params_file" ]]; then
  [[ -r "$params_file" ]] || die "cannot read $params_file"
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%%#*}"
    line="$(echo "$line" | sed 's/^[[:space:]]*//;s/[[:space:]]*$//')"
    [[ -z "$line" ]] && continue
    [[ "$line" == *=* ]] || die "$params_file: expected Key=Value, got: $line"
    add_param "$line"
  done < "$params_file"
fi
for kv in "${cli_params[@]+"${cli_params[@]}"}"; do add_param "$kv"; done

overrides=()
for key in "${param_order[@]+"${param_order[@]}"}"; do overrides+=("$key=${param_value[$key]}"); done

# Tools: cargo-lambda may live in the project's venv.
export PATH="$repo/scripts/.venv/bin:$PATH"
missing=()
command -v cargo >/dev/null || missing+=("cargo (https://rustup.rs)")
command -v cargo-lambda >/dev/null || missing+=("cargo-lambda (scripts/tools/install.sh --build-tools)")
command -v sam >/dev/null || missing+=("sam, the AWS SAM CLI (pip install aws-sam-cli)")
command -v aws >/dev/null || missing+=("aws, the AWS CLI")
[[ -n "$state_store_ca" ]] || command -v curl >/dev/null || missing+=("curl (downloads the RDS CA bundle)")
if [[ ${#missing[@]} -gt 0 ]]; then
  if $dry_run; then
    for m in "${missing[@]}"; do echo "# note: not installed here: $m"; done
  else
    printf 'deploy.sh: missing tools:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
fi

run() {
  if $dry_run; then
    printf '%q ' "$@" | sed 's/ $//'
    echo
  else
    echo "+ $*" >&2
    "$@"
  fi
}

region_args=()
[[ -n "$region" ]] && region_args=(--region "$region")

cd "$repo"

if $dry_run; then
  echo "# stack: $stack${region:+ (region $region)}"
  echo "# parameters:"
  for key in "${param_order[@]+"${param_order[@]}"}"; do echo "#   $key=${param_value[$key]}"; done
  [[ ${#param_order[@]} -eq 0 ]] && echo "#   (none: template defaults)"
fi

if ! $skip_build; then
  bin_args=()
  for b in "${binaries[@]}"; do bin_args+=(--bin "$b"); done
  # Graviton (arm64); zig, from cargo-lambda's venv, is the cross linker.
  run cargo lambda build --release --arm64 --package edba-tasks "${bin_args[@]}"
  # Packages each function from the template's Metadata (rust-cargolambda);
  # cargo reuses the build above.
  run sam build --beta-features \
    --template-file scripts/template.yaml --build-dir .aws-sam/build
fi

# The CA bundle the state-store functions verify the database's certificate
# with, at the root of each one's package (/var/task/$ca_bundle_name).
bundle=".aws-sam/$ca_bundle_name"
run mkdir -p .aws-sam
if [[ -n "$state_store_ca" ]]; then
  run cp "$state_store_ca" "$bundle"
else
  run curl --fail --silent --show-error --location --proto =https --tlsv1.2 --retry 3 \
    --output "$bundle" "$rds_ca_bundle_url"
fi
if ! $dry_run; then
  grep -q -- '-----BEGIN CERTIFICATE-----' "$bundle" || die "$bundle holds no PEM certificate"
fi
for function in "${state_store_functions[@]}"; do
  $dry_run || [[ -d ".aws-sam/build/$function" ]] ||
    die "no build of $function in .aws-sam/build (run without --skip-build)"
  run cp "$bundle" ".aws-sam/build/$function/$ca_bundle_name"
done

deploy=(sam deploy
  --template-file .aws-sam/build/template.yaml
  --stack-name "$stack"
  "${region_args[@]+"${region_args[@]}"}"
  --resolve-s3
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND
  --no-fail-on-empty-changeset)
[[ ${#overrides[@]} -gt 0 ]] && deploy+=(--parameter-overrides "${overrides[@]}")
run "${deploy[@]}"

# Job configurations name SQL files relative to the repository; EMR steps read
# them from code/<path> in the bucket.
if $dry_run; then
  bucket='{BucketName}'
else
  bucket="$(aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]+"${region_args[@]}"}" \
    --query "Stacks[0].Outputs[?OutputKey=='BucketName'].OutputValue" --output text)"
fi
for dir in sql/jobs scripts/emr; do
  if [[ -d "$dir" ]]; then
    run aws s3 sync "$dir" "s3://$bucket/code/$dir/" --delete --exclude '*' --include '*.sql' --include '*.py' --exclude 'test_*' \
      "${region_args[@]+"${region_args[@]}"}"
  fi
done

# The project: `edba project push` checks it (every job's SQL planned against
# the declared datasets), then uploads its job SQL, the planned warehouse
# tables (code/edba.tables.json, read by the load) and code/edba.toml last.
# A bucket without them would run the sample's.
region_env=()
[[ -n "$region" ]] && region_env=(env "AWS_REGION=$region")
run "${region_env[@]+"${region_env[@]}"}" cargo run --quiet --bin edba -- project push "$project" --bucket "$bucket"

if ! $dry_run; then
  echo "Deployed $stack. Next: scripts/bootstrap_db.sh --stack-name $stack --jobs <jobs.toml>" >&2
fi
