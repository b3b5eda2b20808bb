import FleetModel
import FleetTesting
import Foundation
import Testing

/// Where screenshots go: `FLOTILLA_SCREENSHOTS=DIR` keeps them (docs/images is made this way), else a temporary
/// directory removed at the end.
private func screenshotDirectory() -> (URL, keep: Bool) {
    if let dir = ProcessInfo.processInfo.environment["FLOTILLA_SCREENSHOTS"], !dir.isEmpty { return (URL(fileURLWithPath: dir), true) }
    return (FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-shots-\(UUID().uuidString)"), false)
}

private func js(_ text: String) -> String { JSONValue.string(text).serialized(pretty: false) }

/// The dashboard in headless Chromium, against a hub with three simulated clusters: log in with a token, see the
/// fleet, open an Application and press Sync (its status changes in place), freeze a cluster and watch its tile
/// turn Unreachable and its Application move to the secondary — and back — without reloading; a read-only account
/// sees no Sync button and is refused when it posts anyway.
@Test(.enabled(if: TestRequirement.runs(Browser.executable() != nil), "Chromium is not installed (.ci/setup installs it)"))
func dashboardInABrowser() throws {
    let hub = try HubFixture(
        clusters: ["eu": ["env": "prod", "region": "eu"], "dr": ["env": "dr", "region": "eu"], "us": ["env": "prod", "region": "us"]],
        files: ["apps/web/config.yaml": configMap("web-config", "1"), "manual/tool/config.yaml": configMap("tool-config", "1")],
        appSets: [directoryAppSet(name: "apps", env: "prod"),
                  directoryAppSet(name: "manual", env: "prod", automated: nil, path: "manual/*", annotations: #"{flotilla.io/failover: "false"}"#)],
        resync: "2s", secondaries: ["eu": "dr"],
        // Probes tolerant enough for a loaded machine (a slow answer is not an outage), quick enough for the test.
        extraConfig: "failover: {probeInterval: 300ms, probeTimeout: 1s, failureThreshold: 2, recoveryThreshold: 2, holdDown: 8s, maxFailoverPercent: 70}")
    defer { hub.stop() }
    try hub.waitFor("web-eu and web-us Synced and Healthy, the manual tools OutOfSync") {
        let apps = try hub.applications()
        return ["web-eu", "web-us"].allSatisfy { apps[$0]?["sync"] == "Synced" && apps[$0]?["health"] == "Healthy" }
            && ["tool-eu", "tool-us"].allSatisfy { apps[$0]?["sync"] == "OutOfSync" }
    }
    _ = try hub.api("POST", "/api/v1/accounts", body: #"{"name": "viewer", "role": "role:readonly"}"#, expect: 201)
    let viewerToken = try #require(try hub.api("POST", "/api/v1/accounts/viewer/tokens", body: "{}", expect: 201)["token"]?.stringValue)

    let browser = try Browser(executable: try #require(Browser.executable()))
    defer { browser.stop() }
    let (shots, keep) = screenshotDirectory()
    try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
    defer { if !keep { try? FileManager.default.removeItem(at: shots) } }
    func shoot(_ name: String) throws {
        let png = try browser.screenshot()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(name) is a PNG")
        try png.write(to: shots.appendingPathComponent("dashboard-\(name).png"))
    }
    func text(_ selector: String) throws -> String {
        try browser.evaluate("(document.querySelector(\(js(selector))) || {}).textContent || ''").stringValue ?? ""
    }

    // 1. A page without a session leads to the login form; a wrong token is refused there; the admin's logs in.
    try browser.open(hub.url + "/ui/fleet")
    #expect(try browser.evaluate("location.pathname").stringValue == "/ui/login")
    try shoot("login")
    try browser.evaluate("document.getElementById('token').value = 'flt_000000000000_" + String(repeating: "0", count: 64) + "'; document.getElementById('login').click()")
    try browser.wait(for: "document.querySelector('[role=alert]') && location.pathname === '/ui/login'", "the refusal")
    #expect(try text("[role=alert]").contains("not valid"))
    try browser.evaluate("document.getElementById('token').value = \(js(hub.token)); document.getElementById('login').click()")
    try browser.wait(for: "location.pathname === '/ui/fleet' && document.querySelectorAll('[data-cluster]').length === 3", "the fleet after logging in")
    #expect(try browser.evaluate("document.cookie").stringValue == "", "the session cookie is HttpOnly: scripts cannot read it")

    // 2. The fleet: three tiles, grouped by env, all Healthy; the live stream connects (the script ran under the CSP).
    try browser.wait(for: "document.body.getAttribute('data-connected') === 'true'", "the live stream")
    try browser.wait(for: "document.querySelector('[data-cluster=eu]').getAttribute('data-state') === 'Healthy'", "eu's tile Healthy")
    #expect(try browser.evaluate("Array.from(document.querySelectorAll('section.group h2')).map(h => h.textContent.split(' ')[0]).join(',')").stringValue
        == "env=dr,env=prod")
    try shoot("fleet")

    // 3. The Applications page: the grid and the list, filtered by name on the server.
    try browser.open(hub.url + "/ui/applications?q=tool")
    #expect(try browser.evaluate("Array.from(document.querySelectorAll('tr[data-app]')).map(r => r.getAttribute('data-app')).join(',')").stringValue
        == "tool-eu,tool-us")
    try browser.open(hub.url + "/ui/applications")
    #expect(try browser.evaluate("document.querySelectorAll('table.grid td.cell a').length").intValue == 4)
    try shoot("applications")

    // 4. An Application that is not synced automatically: press Sync, its status turns Synced in place.
    try browser.open(hub.url + "/ui/applications/tool-eu")
    #expect(try text("[data-app] [data-field=sync]") == "OutOfSync")
    // Its live diff shows, open: the objects git adds, as a unified diff.
    try browser.wait(for: "document.querySelectorAll('details[open] pre.diff').length >= 1", timeout: 10, "the OutOfSync diff, open")
    #expect(try browser.evaluate("document.querySelector('details[open] pre.diff span.add') !== null").boolValue == true)
    try shoot("application-diff")
    try browser.evaluate("document.getElementById('sync').click()")
    try browser.wait(for: "document.querySelector('.flash') && document.querySelector('.flash').textContent.indexOf('Sync queued') >= 0", "the sync to be queued")
    try browser.evaluate("window.__marker = 'same page'")
    try browser.wait(for: "document.querySelector('[data-app] [data-field=sync]').textContent === 'Synced'", timeout: 20, "tool-eu to turn Synced live")
    try browser.wait(for: "document.querySelector('#resources tbody td:nth-child(4)').textContent.trim() === 'Synced'", timeout: 10,
                     "the resource tree to follow")
    try browser.wait(for: "document.querySelectorAll('#history tbody tr td form').length === 1", timeout: 10, "the history to show the sync")
    #expect(try browser.evaluate("window.__marker").stringValue == "same page", "updated without a reload")
    try shoot("application")

    // 5. eu goes down: its tile turns Unreachable and web-eu moves to dr, while the page stays open.
    try browser.open(hub.url + "/ui/fleet")
    try browser.wait(for: "document.body.getAttribute('data-connected') === 'true'", "the live stream")
    try browser.evaluate("window.__marker = 'fleet'")
    let summary = "Array.from(document.querySelectorAll('[data-summary-state]')).map(p => p.textContent).join(',')"
    let before = try browser.evaluate(summary).stringValue ?? ""
    #expect(before.hasSuffix("Healthy") && !before.contains("FailedOver"), "\(before)")
    hub.freeze("eu")
    try browser.wait(for: "['Unreachable', 'FailedOver'].indexOf(document.querySelector('[data-cluster=eu]').getAttribute('data-state')) >= 0",
                     timeout: 30, "eu's tile to turn Unreachable")
    try browser.wait(for: "document.querySelector('[data-cluster=eu] [data-field=moved]').textContent.indexOf('moved to dr') >= 0", timeout: 30,
                     "web-eu to move to dr")
    #expect(try browser.evaluate("document.querySelector('[data-cluster=eu]').getAttribute('data-state')").stringValue == "FailedOver")
    #expect(try browser.evaluate("window.__marker").stringValue == "fleet", "the tile changed without a reload")
    // The summary pill follows the tiles, live: one FailedOver beside the Healthy ones.
    try browser.wait(for: "\(summary).indexOf('1 FailedOver') >= 0", timeout: 10, "the summary to count eu FailedOver")
    #expect(try browser.evaluate("document.querySelector('[data-summary-state=FailedOver]').className").stringValue == "pill tone-bad")
    try shoot("fleet-failover")

    // … and back: eu answers again; its tile says Healthy and counts the hold-down down, live.
    hub.thaw("eu")
    try browser.wait(for: "document.querySelector('[data-cluster=eu] [data-field=moved]').textContent.indexOf('failback in') >= 0", timeout: 15,
                     "eu's tile to count the hold-down")
    try shoot("fleet-holddown")
    // With web-eu's page open, it returns to eu when the hold-down ends.
    try browser.open(hub.url + "/ui/applications/web-eu")
    #expect(try text("[data-app] [data-field=running]").hasPrefix("dr (moved from eu)"))
    try browser.evaluate("window.__marker = 'web-eu'")
    try browser.wait(for: "document.querySelector('[data-app] [data-field=running]').textContent === 'eu'", timeout: 40, "web-eu back on eu")
    #expect(try browser.evaluate("window.__marker").stringValue == "web-eu")

    // 6. Events: the failover as a band, the log newest first.
    try browser.open(hub.url + "/ui/events")
    #expect(try browser.evaluate("document.querySelector('[data-band=eu]') !== null").boolValue == true)
    try shoot("events")

    // 7. The ApplicationSet preview: pasted YAML, the Applications it would create.
    try browser.open(hub.url + "/ui/preview")
    let preview = directoryAppSet(name: "preview-only", env: "prod", path: "apps/*").replacingOccurrences(of: "'{{path.basename}}-{{name}}'", with: "'preview-{{path.basename}}-{{name}}'")
    try browser.evaluate("document.getElementById('appset').value = \(js(preview)); document.getElementById('preview').click()")
    try browser.wait(for: "document.querySelector('.preview-set') !== null", timeout: 30, "the preview")
    #expect(try text(".preview-set .summary").hasPrefix("2 to create"))
    try shoot("preview")

    // 8. Log out, log in as the read-only account: no Sync button; a post anyway is refused.
    try browser.evaluate("document.querySelector('form[action=\"/ui/logout\"] button').click()")
    try browser.wait(for: "location.pathname === '/ui/login'", "the login page after logging out")
    try browser.evaluate("document.getElementById('token').value = \(js(viewerToken)); document.getElementById('login').click()")
    try browser.wait(for: "location.pathname === '/ui/fleet'", "the viewer's fleet")
    try browser.open(hub.url + "/ui/applications/tool-us")
    #expect(try browser.evaluate("document.getElementById('sync') === null && document.getElementById('refresh') === null").boolValue == true)
    let status = try browser.evaluate("""
        fetch('/ui/applications/tool-us/sync', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},
              body: 'csrf=' + document.querySelector('form[action="/ui/logout"] input[name=csrf]').value}).then(r => r.status)
        """)
    #expect(status.intValue == 403)
    let history = try hub.api("GET", "/api/v1/applications/tool-us/history")["items"]?.arrayValue ?? []
    #expect(history.isEmpty, "the refused sync did not run")
}
