# Sourced by the bench scripts that keep a gateway's log: `trim_log FILE` cuts it, once the
# gateway has stopped, to its first and last 200 lines. A run logs one access line a request (at
# 32 connections about 350 MB in a bench/grpc.sh run): enough is kept to read a failure, not a
# disk's worth across runs. The gateway still writes every line while it runs, as it would in
# production.
trim_log() {
  local file=$1 keep=200 lines
  [[ -f $file ]] || return 0
  lines=$(wc -l <"$file")
  ((lines > 2 * keep)) || return 0
  {
    head -n "$keep" "$file"
    echo "[bench] $((lines - 2 * keep)) lines cut"
    tail -n "$keep" "$file"
  } >"$file.cut" && mv "$file.cut" "$file"
}
