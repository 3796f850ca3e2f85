// Starts GraphiQL for blaxel-gateway. Served as a file (not inline) so that the page's CSP can
// forbid inline scripts; its settings come from the JSON block `#graphiql-config` of the page.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var fetcher = GraphiQL.createFetcher({ url: config.endpoint });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      defaultHeaders: config.defaultHeaders || undefined,
      defaultEditorToolsVisibility: config.defaultHeaders ? 'headers' : false,
      // Headers may hold tokens: keep them out of localStorage.
      shouldPersistHeaders: false,
    })
  );
})();
