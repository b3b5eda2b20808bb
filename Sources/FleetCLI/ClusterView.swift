import FleetModel

/// What users see of a cluster. Credentials are described, never shown.
enum ClusterView {
    static func json(_ c: Cluster) -> JSONValue {
        var tls: [(String, JSONValue)] = [
            ("caData", .bool(c.credentials.caData != nil)),
            ("insecureSkipTLSVerify", .bool(c.credentials.insecureSkipTLSVerify)),
        ]
        if let serverName = c.credentials.tlsServerName { tls.append(("serverName", .string(serverName))) }
        return .object([
            ("name", .string(c.name)),
            ("server", .string(c.server)),
            ("labels", .sortedObject(c.labels)),
            ("annotations", .sortedObject(c.annotations)),
            ("secondary", c.secondary.map(JSONValue.string) ?? .null),
            ("auth", .string(c.credentials.kind.rawValue)),
            ("tls", .object(tls)),
        ])
    }

    static func table(_ clusters: [Cluster]) -> String {
        let header = ["NAME", "SERVER", "LABELS", "SECONDARY", "AUTH"]
        let rows = clusters.map { c in
            [c.name, c.server,
             c.labels.isEmpty ? "<none>" : c.labels.keys.sorted().map { "\($0)=\(c.labels[$0]!)" }.joined(separator: ","),
             c.secondary ?? "<none>", c.credentials.kind.rawValue]
        }
        return TextTable.render(header: header, rows: rows)
    }
}

enum TextTable {
    /// Columns padded to their widest cell and separated by three spaces, like kubectl.
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "   ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
