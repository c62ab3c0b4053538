#!/usr/bin/env bash
# Prepares the MySQL state store of a deployed edba: applies the migrations in
# sql/state/mysql/ in order, creates the SELECT-only user extra criteria run
# as, then loads a jobs file with `edba jobs apply`.
#
# Usage:
#   scripts/bootstrap_db.sh --stack-name NAME [--region REGION] [--jobs FILE] [--ssl-ca FILE] [--dry-run]
#   scripts/bootstrap_db.sh --secret-arn ARN --host HOST [--port 3306] [--database edba]
#                           [--criteria-secret-arn ARN] [--region REGION] [--jobs FILE]
#                           [--ssl-ca FILE] [--dry-run]
#
#   --stack-name           read the secret ARNs, host, port and database from the stack
#   --criteria-secret-arn  the criteria user's secret (the stack's CriteriaSecret)
#   --jobs FILE            after migrating, apply this jobs file (e.g. sampledata/jobs.toml)
#   --ssl-ca FILE          the CA certificates (PEM) the server's certificate must chain
#                          to; default: the RDS CA bundle deploy.sh downloaded
#                          (.aws-sam/rds-global-bundle.pem), else downloaded now
#   --dry-run              print every command; fetch no secret and run nothing
#
# Every connection is TLS with the server's identity verified against that
# bundle, as the functions' own (the mysql client's --ssl-ca with
# --ssl-verify-server-cert, or --ssl-mode=VERIFY_IDENTITY for MySQL's client;
# the URL given to edba says ssl-mode=VERIFY_IDENTITY&ssl-ca=…): a server
# without TLS, or whose certificate does not name the host and chain to the
# bundle, is refused, never used in plaintext.
#
# The username and password come from the Secrets Manager secret (keys
# "username" and "password"; "host", "port" and "dbname" are used when given
# neither here nor by the stack). They are written only to a private temporary
# file for the mysql client, never to the terminal or a command line of mysql.
# The criteria user (its secret's username, e.g. edba_criteria) is created or
# given the secret's current password, and may SELECT the state store's
# database only; running the script again after a rotation of that secret
# sets the new password.
# Applied migrations are recorded in sqlx's _sqlx_migrations table with sqlx's
# checksums, so the edba code that migrates with sqlx sees them as applied.
# Needs: the AWS CLI, the mysql (or mariadb) client, python3, curl unless the
# bundle is at hand; cargo or $EDBA for --jobs.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
usage() { sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "bootstrap_db.sh: $*" >&2; exit 1; }

dry_run=false
stack="" secret_arn="" criteria_secret_arn="" host="" port="" database="" jobs="" ssl_ca=""
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --stack-name) stack="${2:?--stack-name needs a value}"; shift ;;
    --secret-arn) secret_arn="${2:?--secret-arn needs a value}"; shift ;;
    --criteria-secret-arn) criteria_secret_arn="${2:?--criteria-secret-arn needs a value}"; shift ;;
    --host) host="${2:?--host needs a value}"; shift ;;
    --port) port="${2:?--port needs a value}"; shift ;;
    --database) database="${2:?--database needs a value}"; shift ;;
    --region) region="${2:?--region needs a value}"; shift ;;
    --jobs) jobs="${2:?--jobs needs a value}"; shift ;;
    --ssl-ca) ssl_ca="${2:?--ssl-ca needs a value}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

[[ -n "$stack" || -n "$secret_arn" ]] || { usage >&2; die "give --stack-name, or --secret-arn and --host"; }
[[ -z "$jobs" || -r "$jobs" ]] || die "cannot read jobs file $jobs"
if [[ -n "$ssl_ca" ]]; then
  [[ -r "$ssl_ca" ]] || die "cannot read the CA file $ssl_ca"
  # The URL given to edba names it: make it absolute.
  ssl_ca="$(cd "$(dirname "$ssl_ca")" && pwd)/$(basename "$ssl_ca")"
elif [[ -r "$repo/.aws-sam/rds-global-bundle.pem" ]]; then
  ssl_ca="$repo/.aws-sam/rds-global-bundle.pem"
fi

migrations=()
for f in "$repo"/sql/state/mysql/*.sql; do [[ -e "$f" ]] && migrations+=("$f"); done
[[ ${#migrations[@]} -gt 0 ]] || die "no migrations in sql/state/mysql/"

region_args=()
[[ -n "$region" ]] && region_args=(--region "$region")

missing=()
command -v aws >/dev/null || missing+=("aws, the AWS CLI")
command -v python3 >/dev/null || missing+=("python3")
mysql_bin="$(command -v mysql || command -v mariadb || true)"
[[ -n "$mysql_bin" ]] || missing+=("mysql, the MySQL or MariaDB client")
[[ -n "$ssl_ca" ]] || command -v curl >/dev/null || missing+=("curl (downloads the RDS CA bundle), or give --ssl-ca")
if [[ ${#missing[@]} -gt 0 ]]; then
  if $dry_run; then
    for m in "${missing[@]}"; do echo "# note: not installed here: $m"; done
    mysql_bin="${mysql_bin:-mysql}"
  else
    printf 'bootstrap_db.sh: missing tools:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
fi

show() { printf '%q ' "$@" | sed 's/ $//'; }
run() {
  if $dry_run; then show "$@"; echo; else "$@"; fi
}

criteria_lookup=(aws cloudformation describe-stack-resource --stack-name "$stack" "${region_args[@]+"${region_args[@]}"}"
  --logical-resource-id CriteriaSecret --query StackResourceDetail.PhysicalResourceId --output text)

output_of() {
  aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]+"${region_args[@]}"}" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

if [[ -n "$stack" ]]; then
  if $dry_run; then
    for key in StateStoreSecretArn StateStoreEndpoint StateStorePort StateStoreDatabase; do
      show aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]+"${region_args[@]}"}" \
        --query "Stacks[0].Outputs[?OutputKey=='$key'].OutputValue" --output text
      echo
    done
    secret_arn="${secret_arn:-{StateStoreSecretArn\}}"
    host="${host:-{StateStoreEndpoint\}}"
    port="${port:-{StateStorePort\}}"
    database="${database:-{StateStoreDatabase\}}"
    show "${criteria_lookup[@]}"
    echo
    criteria_secret_arn="${criteria_secret_arn:-{CriteriaSecret\}}"
  else
    secret_arn="${secret_arn:-$(output_of StateStoreSecretArn)}"
    host="${host:-$(output_of StateStoreEndpoint)}"
    port="${port:-$(output_of StateStorePort)}"
    database="${database:-$(output_of StateStoreDatabase)}"
    # A secret's physical id is its ARN. A stack from before the criteria
    # user has none: criteria then run as the state store's own user.
    if [[ -z "$criteria_secret_arn" ]] && ! criteria_secret_arn="$("${criteria_lookup[@]}" 2>/dev/null)"; then
      echo "bootstrap_db.sh: the stack has no CriteriaSecret; no criteria user is created" >&2
      criteria_secret_arn=""
    fi
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
cnf="$work/client.cnf"
url_file="$work/state_store_url"

# The CA bundle: given, deploy.sh's copy, or the RDS bundle downloaded now.
if [[ -z "$ssl_ca" ]]; then
  ssl_ca="$work/rds-global-bundle.pem"
  run curl --fail --silent --show-error --location --proto =https --tlsv1.2 --retry 3 \
    --output "$ssl_ca" https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
fi
if ! $dry_run; then
  grep -q -- '-----BEGIN CERTIFICATE-----' "$ssl_ca" || die "the CA file $ssl_ca holds no PEM certificate"
fi
# MariaDB's client verifies the server's name with --ssl-verify-server-cert;
# MySQL's (8.0 and later) with --ssl-mode=VERIFY_IDENTITY.
if "$mysql_bin" --version 2>/dev/null | grep -q MariaDB || [[ "$(basename "$mysql_bin")" == mariadb ]]; then
  verify_server=(--ssl-verify-server-cert)
else
  verify_server=(--ssl-mode=VERIFY_IDENTITY)
fi

# Reads the secret's JSON on stdin; writes the mysql option file and the
# state-store URL, prints host, port, database and user.
parse_secret="$(cat <<'PY'
import json, sys, urllib.parse
cnf, url_file, host, port, database, ssl_ca = sys.argv[1:7]
secret = json.loads(sys.stdin.read())
user, password = secret["username"], secret["password"]
host = host or secret.get("host", "")
port = port or str(secret.get("port", "3306"))
database = database or secret.get("dbname", "edba")
if not host:
    sys.exit("no host: give --host (or a stack whose outputs name it)")
def opt(v):
    # Option-file values in double quotes, with \ and \" escaped.
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
with open(cnf, "w") as f:
    f.write(f"[client]\nuser={opt(user)}\npassword={opt(password)}\nhost={opt(host)}\nport={int(port)}\n")
q = lambda s: urllib.parse.quote(str(s), safe="")
with open(url_file, "w") as f:
    f.write(f"mysql://{q(user)}:{q(password)}@{host}:{int(port)}/{database}"
            f"?ssl-mode=VERIFY_IDENTITY&ssl-ca={urllib.parse.quote(ssl_ca, safe='/')}")
print(f"{host}\t{int(port)}\t{database}\t{user}")
PY
)"

fetch=(aws secretsmanager get-secret-value --secret-id "$secret_arn" "${region_args[@]+"${region_args[@]}"}"
  --query SecretString --output text)

if $dry_run; then
  echo "$(show "${fetch[@]}") | (username, password -> $cnf, mode 600)"
  port="${port:-3306}" database="${database:-edba}"
else
  # The secret goes from the AWS CLI straight into the option file (the
  # parser is an argument: stdin carries the secret).
  umask 077
  info="$("${fetch[@]}" | python3 -c "$parse_secret" "$cnf" "$url_file" "$host" "$port" "$database" "$ssl_ca")" ||
    die "could not read the state store's credentials from the secret $secret_arn"
  IFS=$'\t' read -r host port database owner <<<"$info"
fi
[[ "$database" =~ ^[A-Za-z_][A-Za-z0-9_]{0,63}$ || "$database" == "{StateStoreDatabase}" ]] ||
  die "database name '$database': letters, digits and _ only"

mysql_cmd=("$mysql_bin" "--defaults-extra-file=$cnf" "--ssl-ca=$ssl_ca" "${verify_server[@]}"
  --batch --skip-column-names)
echo "state store: $host:$port/$database (TLS, verified with $ssl_ca)" >&2

# The database may not exist yet on a server the team already had.
run "${mysql_cmd[@]}" -e "CREATE DATABASE IF NOT EXISTS \`$database\`"
run "${mysql_cmd[@]}" "--database=$database" -e "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)"

for file in "${migrations[@]}"; do
  name="$(basename "$file")"
  [[ "$name" =~ ^([0-9]+)_([A-Za-z0-9_]+)\.sql$ ]] || die "migration $name is not named <version>_<description>.sql"
  version=$((10#${BASH_REMATCH[1]}))
  description="${BASH_REMATCH[2]//_/ }"
  # sqlx's checksum: SHA-384 of the file's text.
  checksum="$(sha384sum "$file" | cut -d' ' -f1)"
  if $dry_run; then
    echo "# $name (version $version): applied unless _sqlx_migrations records it"
    echo "$(show "${mysql_cmd[@]}" "--database=$database") < $(printf '%q' "${file#"$repo"/}")"
    continue
  fi
  recorded="$("${mysql_cmd[@]}" "--database=$database" \
    -e "SELECT LOWER(HEX(checksum)), success FROM _sqlx_migrations WHERE version = $version")"
  if [[ -n "$recorded" ]]; then
    read -r have success <<<"$recorded"
    [[ "$success" == 1 ]] || die "migration $version failed earlier (_sqlx_migrations.success = 0); repair by hand"
    [[ "$have" == "$checksum" ]] || die "migration $name was changed after it was applied (checksum differs)"
    echo "$name: already applied" >&2
    continue
  fi
  echo "$name: applying" >&2
  start=$(date +%s%N)
  "${mysql_cmd[@]}" "--database=$database" < "$file"
  elapsed=$(( $(date +%s%N) - start ))
  "${mysql_cmd[@]}" "--database=$database" -e "INSERT INTO _sqlx_migrations
    (version, description, success, checksum, execution_time)
    VALUES ($version, '$description', TRUE, UNHEX('$checksum'), $elapsed)"
done

# The user extra criteria run as (the evaluate function's EDBA_CRITERIA_SECRET_ARN):
# SELECT on the state store's database, nothing else. Reads the criteria
# secret's JSON on stdin and writes the statements to a private file.
# MySQL takes neither a user name nor a password as a bound parameter, so
# both are checked here before they are quoted into the statements: a name
# of letters, digits and _, a password without quotes, backslashes or
# blanks (the template's generated password never has them), so neither can
# end its quoted literal.
criteria_sql="$(cat <<'PY'
import json, re, sys
out, database, owner = sys.argv[1:4]
secret = json.loads(sys.stdin.read())
user, password = secret["username"], secret["password"]
if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", user):
    sys.exit("the criteria secret's username must be letters, digits and _ (at most 32)")
if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", database):
    sys.exit("database name: letters, digits and _ only")
if user == owner:
    sys.exit("the criteria secret names the state store's own user; it needs a user of its own")
if not (8 <= len(password) <= 128) or any(c in "'\"\\`" or not ("!" <= c <= "~") for c in password):
    sys.exit("the criteria secret's password must be 8-128 printable ASCII characters "
             "without quotes, backslashes or blanks")
account = f"'{user}'@'%'"
with open(out, "w") as f:
    f.write(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{password}';\n")
    f.write(f"ALTER USER {account} IDENTIFIED BY '{password}';\n")
    f.write(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account};\n")
    f.write(f"GRANT SELECT ON `{database}`.* TO {account};\n")
print(user)
PY
)"

if [[ -n "$criteria_secret_arn" ]]; then
  fetch_criteria=(aws secretsmanager get-secret-value --secret-id "$criteria_secret_arn"
    "${region_args[@]+"${region_args[@]}"}" --query SecretString --output text)
  if $dry_run; then
    echo "$(show "${fetch_criteria[@]}") | (username, password -> $work/criteria.sql, mode 600)"
    echo "$(show "${mysql_cmd[@]}") < $work/criteria.sql" \
      "# CREATE USER IF NOT EXISTS / ALTER USER {username}@'%'; GRANT SELECT ON \`$database\`.* only"
  else
    criteria_user="$("${fetch_criteria[@]}" |
      python3 -c "$criteria_sql" "$work/criteria.sql" "$database" "$owner")" ||
      die "could not prepare the criteria user from the secret $criteria_secret_arn"
    "${mysql_cmd[@]}" < "$work/criteria.sql"
    echo "criteria user: $criteria_user may SELECT on $database only" >&2
  fi
else
  echo "no criteria secret: extra criteria will run as the state store's own user" >&2
fi

if [[ -n "$jobs" ]]; then
  if [[ -n "${EDBA:-}" ]]; then
    edba=("$EDBA")
  else
    edba=(cargo run --quiet --profile fast-release --manifest-path "$repo/Cargo.toml" --bin edba --)
  fi
  if $dry_run; then
    echo "$(show "${edba[@]}" jobs apply "$jobs" --state-store)" \
      "'mysql://{username}:{password}@$host:$port/$database?ssl-mode=VERIFY_IDENTITY&ssl-ca=$ssl_ca'"
  else
    "${edba[@]}" jobs apply "$jobs" --state-store "$(cat "$url_file")"
  fi
fi
