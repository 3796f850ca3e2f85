// Starts GraphiQL for blaxel-gateway. Served as a file (not inline) so that the page's CSP can
// forbid inline scripts; its settings come from the JSON block `#graphiql-config` of the page.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var http = GraphiQL.createFetcher({ url: config.endpoint });

  // True when the operation to run is a subscription (the named one, else the document's).
  function isSubscription(params) {
    var query = String(params.query || '').replace(/#[^\n]*/g, '');
    if (params.operationName) {
      return new RegExp('\\bsubscription\\s+' + params.operationName + '\\b').test(query);
    }
    return /^\s*subscription\b/.test(query);
  }

  // A subscription as Server-Sent Events (graphql-sse, distinct connections mode): POST with
  // `Accept: text/event-stream`; each `next` event is one result, `complete` ends it.
  function events(params, opts) {
    var controller = new AbortController();
    var headers = Object.assign(
      { 'content-type': 'application/json', accept: 'text/event-stream' },
      (opts && opts.headers) || {}
    );
    return {
      [Symbol.asyncIterator]: async function* () {
        try {
          var response = await fetch(config.endpoint, {
            method: 'POST',
            headers: headers,
            body: JSON.stringify(params),
            signal: controller.signal,
          });
          if (!response.ok || !response.body) {
            yield await response.json();
            return;
          }
          var reader = response.body.getReader();
          var decoder = new TextDecoder();
          var buffer = '';
          for (;;) {
            var chunk = await reader.read();
            if (chunk.done) return;
            buffer += decoder.decode(chunk.value, { stream: true });
            var end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              var event = null;
              var data = '';
              buffer
                .slice(0, end)
                .split('\n')
                .forEach(function (line) {
                  if (line.indexOf('event:') === 0) event = line.slice(6).trim();
                  else if (line.indexOf('data:') === 0) data += line.slice(5).trim();
                });
              buffer = buffer.slice(end + 2);
              if (event === 'next') yield JSON.parse(data);
              else if (event === 'complete') return;
            }
          }
        } finally {
          controller.abort();
        }
      },
    };
  }

  function fetcher(params, opts) {
    return isSubscription(params) ? events(params, opts) : http(params, opts);
  }

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
