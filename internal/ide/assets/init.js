// Bootstrap for orgraph's embedded GraphiQL page (see internal/ide).
// The page's Content-Security-Policy allows only same-origin scripts, so the
// options come from the JSON block #ide-config instead of inline code.
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('ide-config').textContent);

  // A plain fetcher, for GraphiQL builds without GraphiQL.createFetcher.
  function simpleFetcher(params) {
    return fetch(config.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(params),
      credentials: 'same-origin',
    }).then(function (res) {
      return res.json();
    });
  }

  var fetcher =
    typeof GraphiQL.createFetcher === 'function'
      ? GraphiQL.createFetcher({ url: config.endpoint })
      : simpleFetcher;

  var props = { fetcher: fetcher, defaultEditorToolsVisibility: true };
  if (config.defaultQuery) {
    props.defaultQuery = config.defaultQuery;
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, props),
  );
})();
