import ArgumentParser
import FleetCLIKit
import FleetModel
import FleetPolicy
import Foundation

/// `flotilla report compliance`: per cluster and per team, what passes the policies (docs/policy.md).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Reports over the fleet.", subcommands: [Compliance.self])

    struct Compliance: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compliance per cluster and per team: objects passing each policy, violations, drift, last sync, stale revisions.",
            discussion: "Example: flotilla report compliance -l env=prod -o html > compliance.html")
        @OptionGroup var hub: ServerOptions
        @Option(name: .shortAndLong, help: "Only Applications with these labels.") var selector: String?
        @Option(help: "The Application label to group by.") var by = "team"
        @Option(help: "Name the Applications that have run their revision for longer than this many days.") var staleDays = 30
        @Option(name: .shortAndLong, help: "table, json or html (one self-contained file).") var output: ReportFormat = .table

        enum ReportFormat: String, ExpressibleByArgument { case table, json, html }

        func run() throws {
            var query = "?by=\(HubClient.escape(by))&staleDays=\(staleDays)"
            if let selector { query += "&selector=\(HubClient.escape(selector))" }
            let report = try hub.client.get(ComplianceReport.self, "/api/v1/reports/compliance" + query)
            switch output {
            case .json: print(APIJSONText.pretty(report))
            case .html: print(ComplianceHTML.render(report))
            case .table:
                func rows(_ groups: [ComplianceReport.Group]) -> [[String]] {
                    groups.map { g in
                        [g.name, "\(g.applications)", "\(g.passing)/\(g.checked)", String(format: "%.1f%%", g.compliance),
                         g.policies.filter { $0.violating > 0 }.map { "\($0.policy): \($0.violating)" }.joined(separator: ", "),
                         "\(g.outOfSync)", g.lastSuccessfulSync ?? "-", "\(g.stale)"]
                    }
                }
                let header = ["", "APPS", "PASSING", "COMPLIANCE", "VIOLATIONS", "OUTOFSYNC", "LAST SYNC", "STALE"]
                print("Fleet: \(report.total.passing) of \(report.total.checked) objects pass (" + String(format: "%.1f%%", report.total.compliance) + ")\n")
                print(TextTable.render(header: ["CLUSTER"] + header.dropFirst(), rows: rows(report.clusters)) + "\n")
                print(TextTable.render(header: [report.groupedBy.uppercased()] + header.dropFirst(), rows: rows(report.groups)))
                if !report.violations.isEmpty {
                    print("\n" + TextTable.render(header: ["APPLICATION", "VIOLATION"], rows: report.violations.map { [$0.application, $0.finding] }))
                }
                if !report.staleApplications.isEmpty {
                    print("\nRunning their revision for more than \(report.staleDays) days:\n"
                          + TextTable.render(header: ["APPLICATION", "SINCE", "DAYS"], rows: report.staleApplications.map { [$0.application, $0.since, "\($0.days)"] }))
                }
            }
        }
    }
}

/// JSON text of an API value, indented.
enum APIJSONText {
    static func pretty<T: Encodable>(_ value: T) -> String { JSONCoding.value(value).serialized(pretty: true) }
}

/// The report as one HTML file: inline styles, an inline SVG chart of compliance over time, no script.
enum ComplianceHTML {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }

    static func table(_ title: String, _ groups: [ComplianceReport.Group]) -> String {
        var out = "<h2>\(escape(title))</h2><table><thead><tr><th>\(escape(title))</th><th>Applications</th><th>Passing</th><th>Compliance</th><th>Violations</th><th>OutOfSync</th><th>Last successful sync</th><th>Stale</th></tr></thead><tbody>"
        for g in groups {
            let violations = g.policies.filter { $0.violating > 0 }.map { "\($0.policy): \($0.violating)" }.joined(separator: ", ")
            out += "<tr><td>\(escape(g.name))</td><td>\(g.applications)</td><td>\(g.passing)/\(g.checked)</td><td class=\"\(g.compliance >= 100 ? "ok" : "bad")\">"
                + String(format: "%.1f%%", g.compliance) + "</td><td>\(escape(violations))</td><td>\(g.outOfSync)</td><td>\(escape(g.lastSuccessfulSync ?? "-"))</td><td>\(g.stale)</td></tr>"
        }
        return out + "</tbody></table>"
    }

    /// Compliance over time as an SVG polyline (0–100 %), one point a day.
    static func chart(_ points: [ComplianceReport.Point]) -> String {
        guard !points.isEmpty else { return "<p>No daily snapshot yet: the hub records one a day.</p>" }
        let width = 640.0, height = 160.0, step = points.count > 1 ? width / Double(points.count - 1) : 0
        let coordinates = points.enumerated().map { i, p in String(format: "%.1f,%.1f", Double(i) * step, height - p.compliance / 100 * height) }
        let labels = [points.first!, points.last!].map { escape($0.date) }
        return """
        <svg role="img" aria-label="Compliance over time" viewBox="-40 -10 \(Int(width) + 60) \(Int(height) + 40)" width="\(Int(width) + 60)">
        <line x1="0" y1="\(height)" x2="\(width)" y2="\(height)" stroke="#999"/><line x1="0" y1="0" x2="0" y2="\(height)" stroke="#999"/>
        <text x="-36" y="5" font-size="11">100%</text><text x="-26" y="\(height)" font-size="11">0%</text>
        <polyline fill="none" stroke="#1a7f37" stroke-width="2" points="\(coordinates.joined(separator: " "))"/>
        <text x="0" y="\(height + 16)" font-size="11">\(labels[0])</text><text x="\(width - 70)" y="\(height + 16)" font-size="11">\(labels[1])</text>
        </svg>
        """
    }

    static func render(_ r: ComplianceReport) -> String {
        var out = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Flotilla compliance report</title>
        <style>body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24}table{border-collapse:collapse;margin:8px 0 20px}
        th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}.ok{color:#1a7f37}.bad{color:#b42318;font-weight:600}</style></head><body>
        <h1>Compliance report</h1><p>Generated \(escape(r.generatedAt)). Fleet: \(r.total.passing) of \(r.total.checked) objects pass every policy
        (
        """
        out += String(format: "%.1f%%", r.total.compliance) + ").</p><h2>Over time</h2>" + chart(r.history)
        out += table("Cluster", r.clusters) + table(r.groupedBy, r.groups)
        if !r.violations.isEmpty {
            out += "<h2>Violations</h2><table><thead><tr><th>Application</th><th>Violation</th></tr></thead><tbody>"
                + r.violations.map { "<tr><td>\(escape($0.application))</td><td>\(escape($0.finding))</td></tr>" }.joined() + "</tbody></table>"
        }
        if !r.staleApplications.isEmpty {
            out += "<h2>Running their revision for more than \(r.staleDays) days</h2><table><thead><tr><th>Application</th><th>Since</th><th>Days</th></tr></thead><tbody>"
                + r.staleApplications.map { "<tr><td>\(escape($0.application))</td><td>\(escape($0.since))</td><td>\($0.days)</td></tr>" }.joined() + "</tbody></table>"
        }
        return out + "</body></html>"
    }
}
