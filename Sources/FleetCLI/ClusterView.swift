import FleetHub
import FleetModel

/// Tables of clusters (their JSON form is `FleetHub.ClusterView.json`).
extension ClusterView {
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
