// Package clients holds tests that drive the gateway with GraphQL clients
// nobody here wrote. The clients are npm packages in js/ (package.json and
// package-lock.json committed, node_modules installed by scripts/test with
// `npm ci`); each test starts one small runner script with node against a
// gateway over real HTTP. The package has no code of its own.
package clients
