#!/usr/bin/env bash
# fetch-assets.sh re-fetches the browser builds that internal/ide embeds,
# from the npm registry with `npm pack`, and rewrites assets/README.md.
#
# Upgrade in one command, e.g.:
#
#   GRAPHIQL_VERSION=3.9.0 REACT_VERSION=18.3.1 internal/ide/fetch-assets.sh
#
# GraphiQL must be a release that still ships the standalone UMD build
# (graphiql.min.js / graphiql.min.css; the 3.x line does, 4.x+ does not), and
# React must be a release that ships UMD builds (18.x does, 19 does not).
# The Go code finds the files by name pattern, so no Go change is needed;
# run `go test ./internal/ide/` afterwards.
set -euo pipefail

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-3.9.0}"
REACT_VERSION="${REACT_VERSION:-18.3.1}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
assets="$here/assets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# pack NAME VERSION: downloads NAME@VERSION into $work/NAME and prints the
# tarball's integrity string.
pack() {
	local name="$1" version="$2"
	(cd "$work" && npm pack --json "$name@$version" >"$name.json")
	mkdir -p "$work/$name"
	tar -xzf "$work/$name-$version.tgz" -C "$work/$name" --strip-components=1
	node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].integrity)' "$work/$name.json"
}

graphiql_integrity="$(pack graphiql "$GRAPHIQL_VERSION")"
react_integrity="$(pack react "$REACT_VERSION")"
react_dom_integrity="$(pack react-dom "$REACT_VERSION")"

for f in graphiql/graphiql.min.js graphiql/graphiql.min.css \
	react/umd/react.production.min.js react-dom/umd/react-dom.production.min.js; do
	if [[ ! -s "$work/$f" ]]; then
		echo "fetch-assets.sh: $f missing from the npm tarball (no UMD build in this version?)" >&2
		exit 1
	fi
done

# Drop the previous versions, then copy the new ones in under versioned names
# (the version in the name is what makes immutable caching safe).
rm -f "$assets"/graphiql-*.min.js "$assets"/graphiql-*.min.css \
	"$assets"/react-*.production.min.js
cp "$work/graphiql/graphiql.min.js" "$assets/graphiql-$GRAPHIQL_VERSION.min.js"
cp "$work/graphiql/graphiql.min.css" "$assets/graphiql-$GRAPHIQL_VERSION.min.css"
cp "$work/react/umd/react.production.min.js" "$assets/react-$REACT_VERSION.production.min.js"
cp "$work/react-dom/umd/react-dom.production.min.js" "$assets/react-dom-$REACT_VERSION.production.min.js"
cp "$work/graphiql/LICENSE" "$assets/LICENSE.graphiql"
cp "$work/react/LICENSE" "$assets/LICENSE.react"
cp "$work/react-dom/LICENSE" "$assets/LICENSE.react-dom"

sums="$(cd "$assets" && sha256sum graphiql-*.min.js graphiql-*.min.css react-*.production.min.js)"

cat >"$assets/README.md" <<EOF
# Embedded GraphiQL assets

Third-party browser builds embedded into the orgraph binary by
\`internal/ide\` (\`//go:embed\`), so the GraphQL IDE works without internet
access. Do not edit these files by hand: re-fetch them with
\`internal/ide/fetch-assets.sh\` (see the top of that script to upgrade).
\`init.js\` and \`ide.css\` are orgraph's own bootstrap code and page layout, not fetched.

| npm package | version | file in the tarball | file here | license |
| --- | --- | --- | --- | --- |
| \`graphiql\` | $GRAPHIQL_VERSION | \`package/graphiql.min.js\` | \`graphiql-$GRAPHIQL_VERSION.min.js\` | MIT, \`LICENSE.graphiql\` |
| \`graphiql\` | $GRAPHIQL_VERSION | \`package/graphiql.min.css\` | \`graphiql-$GRAPHIQL_VERSION.min.css\` | MIT, \`LICENSE.graphiql\` |
| \`react\` | $REACT_VERSION | \`package/umd/react.production.min.js\` | \`react-$REACT_VERSION.production.min.js\` | MIT, \`LICENSE.react\` |
| \`react-dom\` | $REACT_VERSION | \`package/umd/react-dom.production.min.js\` | \`react-dom-$REACT_VERSION.production.min.js\` | MIT, \`LICENSE.react-dom\` |

The GraphiQL UMD build bundles its own dependencies (\`@graphiql/react\`,
\`graphql\`, CodeMirror 5, ...) and needs only the \`React\` and \`ReactDOM\`
globals. Its \`//# sourceMappingURL\` comment points at a map that is not
embedded (about 4 MB); browsers only ask for it with the developer tools open.

## Fetched with

\`\`\`sh
npm pack --json graphiql@$GRAPHIQL_VERSION
npm pack --json react@$REACT_VERSION
npm pack --json react-dom@$REACT_VERSION
\`\`\`

Tarball integrity, as reported by \`npm pack\`:

- \`graphiql@$GRAPHIQL_VERSION\`: \`$graphiql_integrity\`
- \`react@$REACT_VERSION\`: \`$react_integrity\`
- \`react-dom@$REACT_VERSION\`: \`$react_dom_integrity\`

SHA-256 of the files here:

\`\`\`
$sums
\`\`\`
EOF

echo "fetch-assets.sh: graphiql@$GRAPHIQL_VERSION, react@$REACT_VERSION, react-dom@$REACT_VERSION -> $assets"
