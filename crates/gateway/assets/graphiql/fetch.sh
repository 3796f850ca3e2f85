#!/usr/bin/env bash
# Refreshes the GraphiQL assets embedded in blaxel-gateway from npm, by exact version.
# Usage: crates/gateway/assets/graphiql/fetch.sh   (needs npm; writes next to this script)
# To upgrade, change a version below, run this, then update the paths in
# crates/gateway/src/http/graphiql.rs (they carry the versions, for immutable caching).
set -euo pipefail
GRAPHIQL=3.8.3
REACT=18.3.1
dir="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
for pkg in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
  mkdir "$pkg" && tar xzf "$pkg.tgz" -C "$pkg"
done
cp "graphiql-$GRAPHIQL/package/graphiql.min.js" "graphiql-$GRAPHIQL/package/graphiql.min.css" "$dir/"
cp "graphiql-$GRAPHIQL/package/LICENSE" "$dir/LICENSE.graphiql"
cp "react-$REACT/package/umd/react.production.min.js" "$dir/"
cp "react-$REACT/package/LICENSE" "$dir/LICENSE.react"
cp "react-dom-$REACT/package/umd/react-dom.production.min.js" "$dir/"
cp "react-dom-$REACT/package/LICENSE" "$dir/LICENSE.react-dom"
cd "$dir" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js > SHA256SUMS
echo "graphiql $GRAPHIQL, react/react-dom $REACT written to $dir"
