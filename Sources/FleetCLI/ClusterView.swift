import FleetHub
import FleetModel

/// Tables of clusters (their JSON form is `FleetHub.ClusterView.json`).
extension ClusterView {
    static func table(_ clusters: [Cluster]) -> String { table(json: clusters.map(ClusterView.json)) }

    /// From the JSON form (local store or the hub's API); the hub adds reachability.
    static func table(json clusters: [JSONValue]) -> String {
        let reach = clusters.contains { $0["state"] != nil }
        let header = ["NAME", "SERVER", "LABELS", "SECONDARY", "AUTH"] + (reach ? ["STATE", "SINCE"] : [])
        let rows = clusters.map { c -> [String] in
            let labels = c["labels"]?.objectValue ?? []
            var row = [c["name"]?.stringValue ?? "", c["server"]?.stringValue ?? "",
                       labels.isEmpty ? "<none>" : labels.map { "\($0.0)=\($0.1.stringValue ?? "")" }.sorted().joined(separator: ","),
                       c["secondary"]?.stringValue ?? "<none>", c["auth"]?.stringValue ?? ""]
            if reach {
                var state = c["state"]?.stringValue ?? "Unknown"
                if c["drained"]?.boolValue == true { state += ",Drained" } else if c["cordoned"]?.boolValue == true { state += ",Cordoned" }
                row += [state, c["stateSince"]?.stringValue ?? "-"]
            }
            return row
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
