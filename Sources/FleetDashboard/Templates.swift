/// The pages' Mustache templates. `{{name}}` escapes HTML (`< > & " '`); no template uses the unescaped forms, so
/// nothing a user wrote (names, labels, messages, manifests) can become markup. Every page fills `layout`.
enum Templates {
    static let all: [String: String] = [
        "layout": layout, "fleet": fleet, "applications": applications, "application": application, "preview": preview,
        "events": events, "login": login, "error": error,
    ]

    static let layout = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{#chrome}}{{title}}{{/chrome}} · Flotilla</title>
    <link rel="stylesheet" href="/ui/static/app.css">
    <script src="/ui/static/app.js" defer></script>
    </head>
    {{#chrome}}
    <body data-page="{{page}}"{{#live}} data-live="{{live}}"{{/live}}>
    <a class="skip" href="#main">Skip to the content</a>
    <header class="top">
    <a class="brand" href="/ui/fleet">Flotilla</a>
    {{#user}}
    <nav aria-label="Sections">
    {{#nav}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a>{{/nav}}
    </nav>
    <div class="who"><span>{{account}} · {{role}}</span>
    <form method="post" action="/ui/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="link">Log out</button></form>
    </div>
    {{/user}}
    </header>
    <p id="live-status" class="live-status" role="status" aria-live="polite"></p>
    {{#flash}}<p class="flash {{tone}}" role="status">{{message}}</p>{{/flash}}
    {{/chrome}}
    <main id="main">
    {{$body}}{{/body}}
    </main>
    </body>
    </html>
    """

    static let fleet = """
    {{<layout}}{{$body}}
    <h1>Fleet</h1>
    <form class="filters" method="get" action="/ui/fleet" role="search">
    <label>Group by label <input name="group" value="{{groupBy}}" list="label-keys" size="12"></label>
    <datalist id="label-keys">{{#labelKeys}}<option value="{{.}}">{{/labelKeys}}</datalist>
    <label>Label selector <input name="selector" value="{{selector}}" placeholder="env=prod,region in (eu)" size="28"></label>
    <button type="submit">Show</button>
    </form>
    {{#problem}}<p class="flash tone-bad" role="alert">{{.}}</p>{{/problem}}
    <p class="summary">{{clusterCount}} clusters · {{appCount}} Applications · <span data-summary="{{stateTones}}">{{#states}}<span class="pill {{tone}}" data-summary-state="{{label}}">{{count}} {{label}}</span> {{/states}}</span></p>
    {{#groups}}
    <section class="group" aria-labelledby="group-{{index}}">
    <h2 id="group-{{index}}">{{label}} <span class="muted">({{count}})</span></h2>
    <ul class="tiles">
    {{#tiles}}
    <li class="tile {{tone}}" data-cluster="{{name}}" data-state="{{state}}">
    <a href="{{href}}"><strong class="tile-name">{{name}}</strong></a>
    <span class="state" data-field="state">{{state}}</span>
    <span class="counts pill {{countsTone}}" data-field="counts">{{counts}}</span>
    <span class="moved" data-field="moved">{{moved}}</span>
    {{#secondary}}<span class="muted">secondary: {{.}}</span>{{/secondary}}
    </li>
    {{/tiles}}
    </ul>
    </section>
    {{/groups}}
    {{^groups}}<p>No cluster matches.</p>{{/groups}}
    {{/body}}{{/layout}}
    """

    static let applications = """
    {{<layout}}{{$body}}
    <h1>Applications</h1>
    <section aria-labelledby="grid-title">
    <h2 id="grid-title">{{gridTitle}} × cluster</h2>
    <form class="filters" method="get" action="/ui/applications">
    <label>Rows <input name="rows" value="{{rows}}" size="14" aria-describedby="rows-help"></label>
    <span id="rows-help" class="muted">appset, or label:KEY (e.g. label:team)</span>
    <button type="submit">Show</button>
    </form>
    {{#grid}}
    <div class="grid-wrap"><table class="grid">
    <thead><tr><th scope="col">{{gridTitle}}</th>{{#columns}}<th scope="col"><a href="{{href}}">{{name}}</a></th>{{/columns}}</tr></thead>
    <tbody>
    {{#rows}}<tr><th scope="row">{{name}}</th>{{#cells}}<td class="cell {{tone}}">{{#hasApps}}<a href="{{href}}" title="{{title}}">{{label}}</a>{{/hasApps}}</td>{{/cells}}</tr>{{/rows}}
    </tbody>
    </table></div>
    {{#hidden}}<p class="muted">{{.}}</p>{{/hidden}}
    {{/grid}}
    </section>
    <section aria-labelledby="list-title">
    <h2 id="list-title">List</h2>
    <form class="filters" method="get" action="/ui/applications" role="search">
    <input type="hidden" name="rows" value="{{rows}}">
    <label>Name <input type="search" name="q" value="{{filter.search}}" size="18"></label>
    <label>ApplicationSet <input name="appSet" value="{{filter.appSet}}" size="14"></label>
    <label>Cluster <input name="cluster" value="{{filter.cluster}}" size="14"></label>
    <label>Sync <select name="sync">{{#syncOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/syncOptions}}</select></label>
    <label>Health <select name="health">{{#healthOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/healthOptions}}</select></label>
    <label>Labels <input name="selector" value="{{filter.selector}}" size="18"></label>
    <button type="submit">Filter</button>
    </form>
    {{#problem}}<p class="flash tone-bad" role="alert">{{.}}</p>{{/problem}}
    <p class="summary" id="list-count">{{range}}</p>
    <table class="list">
    <thead><tr><th scope="col">Name</th><th scope="col">ApplicationSet</th><th scope="col">Cluster</th><th scope="col">Sync</th><th scope="col">Health</th><th scope="col">Revision</th></tr></thead>
    <tbody>
    {{#items}}
    <tr data-app="{{name}}">
    <td><a href="{{href}}">{{name}}</a></td><td>{{appSet}}</td><td data-field="running">{{running}}</td>
    <td><span class="pill {{syncTone}}" data-field="sync">{{sync}}</span></td>
    <td><span class="pill {{healthTone}}" data-field="health">{{health}}</span></td>
    <td class="mono" data-field="revision">{{revision}}</td>
    </tr>
    {{/items}}
    </tbody>
    </table>
    <nav class="pager" aria-label="Pages">{{#first}}<a href="{{.}}">First page</a>{{/first}} {{#next}}<a href="{{.}}" rel="next">Next page</a>{{/next}}</nav>
    </section>
    {{/body}}{{/layout}}
    """

    static let application = """
    {{<layout}}{{$body}}
    <h1>{{name}}</h1>
    <div class="actions">
    {{#canSync}}
    <form method="post" action="{{base}}/sync"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" id="sync">Sync</button></form>
    <form method="post" action="{{base}}/refresh"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" id="refresh">Refresh</button></form>
    {{/canSync}}
    {{#canRollback}}{{#pinned}}
    <form method="post" action="{{base}}/unpin"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" id="unpin">Unpin {{.}}</button></form>
    {{/pinned}}{{/canRollback}}
    </div>
    <section aria-labelledby="summary-title" data-app="{{name}}">
    <h2 id="summary-title">Summary</h2>
    <dl class="facts">
    <dt>Sync</dt><dd><span class="pill {{syncTone}}" data-field="sync">{{sync}}</span></dd>
    <dt>Health</dt><dd><span class="pill {{healthTone}}" data-field="health">{{health}}</span></dd>
    <dt>Operation</dt><dd data-field="operation">{{operation}}</dd>
    <dt>Revision</dt><dd class="mono" data-field="revision">{{revision}}</dd>
    <dt>Target</dt><dd class="mono" data-field="target">{{target}}</dd>
    {{#pinned}}<dt>Pinned to</dt><dd class="mono">{{.}}</dd>{{/pinned}}
    <dt>Owner</dt><dd>{{#appSetHref}}<a href="{{appSetHref}}">ApplicationSet {{appSet}}</a>{{/appSetHref}}{{^appSetHref}}{{owner}} (written directly){{/appSetHref}}</dd>
    <dt>Source</dt><dd class="mono">{{source}}</dd>
    <dt>Destination</dt><dd>{{destination}}</dd>
    <dt>Runs on</dt><dd data-field="running">{{running}}</dd>
    {{#placement}}<dt>Placement</dt><dd data-field="placement">{{.}}</dd>{{/placement}}
    <dt>Project</dt><dd>{{project}}</dd>
    <dt>Reconciled</dt><dd>{{reconciledAt}}</dd>
    </dl>
    </section>
    <section id="conditions" data-refresh aria-labelledby="conditions-title">
    {{#hasConditions}}<h2 id="conditions-title">Conditions</h2>
    <ul class="conditions">{{#conditions}}<li class="tone-warning"><strong>{{type}}</strong> {{message}}</li>{{/conditions}}</ul>{{/hasConditions}}
    </section>
    <section id="resources" data-refresh aria-labelledby="resources-title"><h2 id="resources-title">Resources</h2>
    <table class="list">
    <thead><tr><th scope="col">Kind</th><th scope="col">Namespace</th><th scope="col">Name</th><th scope="col">Sync</th><th scope="col">Health</th><th scope="col">Message</th></tr></thead>
    <tbody>
    {{#resources}}<tr><td>{{kind}}</td><td>{{namespace}}</td><td>{{name}}</td><td><span class="pill {{syncTone}}">{{sync}}</span></td><td><span class="pill {{healthTone}}">{{health}}</span></td><td>{{message}}</td></tr>{{/resources}}
    {{^resources}}<tr><td colspan="6">No resource recorded yet.</td></tr>{{/resources}}
    </tbody>
    </table>
    </section>
    <section aria-labelledby="diff-title"><h2 id="diff-title">Live diff against git</h2>
    {{#diffProblem}}<p class="flash tone-warning">{{.}}</p>{{/diffProblem}}
    {{#diffs}}
    <details{{#open}} open{{/open}}><summary><span class="pill {{tone}}">{{status}}</span> {{kind}} {{namespace}} {{name}}</summary>
    {{#hasLines}}<pre class="diff">{{#lines}}<span class="{{cls}}">{{text}}</span>
    {{/lines}}</pre>{{/hasLines}}
    </details>
    {{/diffs}}
    </section>
    <section id="history" data-refresh aria-labelledby="history-title"><h2 id="history-title">History</h2>
    <table class="list">
    <thead><tr><th scope="col">Id</th><th scope="col">Revision</th><th scope="col">Commit</th><th scope="col">Cluster</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Result</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
    <tbody>
    {{#history}}<tr><td>{{id}}</td><td class="mono">{{revision}}</td><td>{{subject}}{{#author}}<br><small>{{author}}</small>{{/author}}</td><td>{{cluster}}</td><td>{{startedAt}}</td><td>{{finishedAt}}</td><td><span class="pill {{tone}}">{{result}}</span></td>
    <td>{{#canRollback}}<form method="post" action="{{base}}/rollback" data-confirm="Roll back to {{revision}} and pin it?"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{id}}"><button type="submit">Roll back and pin</button></form>{{/canRollback}}</td></tr>{{/history}}
    {{^history}}<tr><td colspan="8">No sync yet.</td></tr>{{/history}}
    </tbody>
    </table>
    </section>
    {{/body}}{{/layout}}
    """

    static let preview = """
    {{<layout}}{{$body}}
    <h1>ApplicationSet preview</h1>
    <p>Paste or upload ApplicationSets (YAML): see the Applications they would create, update and delete, and each one's
    rendered diff against its cluster. Nothing is changed.</p>
    <form method="post" action="/ui/preview" class="stack">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <label for="file">Upload a file</label><input type="file" id="file" accept=".yaml,.yml,.json" data-fills="appset">
    <label for="appset">ApplicationSet YAML</label>
    <textarea id="appset" name="appset" rows="16" cols="100" spellcheck="false">{{input}}</textarea>
    <button type="submit" id="preview">Preview</button>
    </form>
    {{#problem}}<p class="flash tone-bad" role="alert">{{.}}</p>{{/problem}}
    {{#sets}}
    <section class="preview-set" aria-label="ApplicationSet {{name}}">
    <h2>{{name}}</h2>
    <p class="summary">{{created}} to create · {{updated}} to update · {{deleted}} to delete · {{unchanged}} unchanged</p>
    {{#problems}}<p class="flash tone-warning">{{application}}: {{message}}</p>{{/problems}}
    <table class="list">
    <thead><tr><th scope="col">Application</th><th scope="col">Change</th><th scope="col">Cluster</th><th scope="col">Against the cluster</th></tr></thead>
    <tbody>{{#applications}}<tr><td>{{name}}</td><td>{{change}}</td><td>{{cluster}}</td><td>{{sync}} {{message}}</td></tr>{{/applications}}</tbody>
    </table>
    {{#applications}}{{#hasDiffs}}
    <details><summary>{{name}}: rendered diff</summary>
    {{#diffs}}<h3>{{kind}} {{namespace}} {{name}} <span class="pill {{tone}}">{{status}}</span></h3>
    {{#hasLines}}<pre class="diff">{{#lines}}<span class="{{cls}}">{{text}}</span>
    {{/lines}}</pre>{{/hasLines}}{{/diffs}}
    </details>
    {{/hasDiffs}}{{/applications}}
    </section>
    {{/sets}}
    {{/body}}{{/layout}}
    """

    static let events = """
    {{<layout}}{{$body}}
    <h1>Events</h1>
    <form class="filters" method="get" action="/ui/events" role="search">
    <label>Type <select name="type">{{#typeOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/typeOptions}}</select></label>
    <label>Cluster <input name="cluster" value="{{cluster}}" size="14"></label>
    <label>Application <input name="application" value="{{application}}" size="18"></label>
    <button type="submit">Filter</button>
    </form>
    <section aria-labelledby="bands-title"><h2 id="bands-title">Failovers</h2>
    {{#bands}}
    <div class="band {{#open}}band-open{{/open}}" data-band="{{cluster}}">
    <strong>{{cluster}}</strong>
    <ol class="steps">
    <li class="step tone-bad">down {{down}}</li>
    {{#moved}}<li class="step tone-warning">{{movedCount}} moved {{.}}</li>{{/moved}}
    {{#healthy}}<li class="step tone-progressing">healthy {{.}}</li>{{/healthy}}
    {{#back}}<li class="step tone-good">back {{.}}</li>{{/back}}
    </ol>
    <span class="muted">{{phase}}</span>
    </div>
    {{/bands}}
    {{^bands}}<p>No failover in the events shown.</p>{{/bands}}
    </section>
    <section aria-labelledby="log-title"><h2 id="log-title">Log <span class="muted">(newest first, {{count}} shown)</span></h2>
    <table class="list">
    <thead><tr><th scope="col">Time</th><th scope="col">Type</th><th scope="col">Cluster</th><th scope="col">Application</th><th scope="col">Message</th></tr></thead>
    <tbody>
    {{#items}}<tr class="{{tone}}"><td class="mono">{{at}}</td><td>{{type}}</td><td>{{cluster}}</td><td>{{#href}}<a href="{{href}}">{{application}}</a>{{/href}}</td><td>{{message}}</td></tr>{{/items}}
    </tbody>
    </table>
    </section>
    {{/body}}{{/layout}}
    """

    static let login = """
    {{<layout}}{{$body}}
    <h1>Log in</h1>
    <form method="post" action="/ui/login" class="stack narrow">
    <input type="hidden" name="nonce" value="{{nonce}}">
    <input type="hidden" name="next" value="{{next}}">
    <label for="token">API token</label>
    <input type="password" id="token" name="token" autocomplete="current-password" required size="60">
    <button type="submit" id="login">Log in</button>
    </form>
    {{#problem}}<p class="flash tone-bad" role="alert">{{.}}</p>{{/problem}}
    <p class="muted">A token: <code>flotilla token create --account NAME</code>; the first start writes the admin's to <code>auth.adminTokenFile</code>.</p>
    {{/body}}{{/layout}}
    """

    static let error = """
    {{<layout}}{{$body}}
    <h1>{{heading}}</h1>
    <p role="alert">{{message}}</p>
    <p><a href="/ui/fleet">Back to the fleet</a></p>
    {{/body}}{{/layout}}
    """
}
