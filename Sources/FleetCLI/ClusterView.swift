import FleetAPI
import FleetCLIKit
import FleetModel

/// A cluster as the CLI shows it: its registration, and what the hub knows of it when the hub answered.
struct ClusterView {
    var cluster: ClusterInfo
    var status: ClusterStatusInfo?

    init(_ c: Cluster) {
        cluster = ClusterInfo(c)
        status = nil
    }

    init(_ h: HubCluster) {
        cluster = h.cluster
        status = h.status
    }

    var json: JSONValue { status.map { APIJSON.value(HubCluster(cluster: cluster, status: $0)) } ?? APIJSON.value(cluster) }

    static func table(_ clusters: [ClusterView]) -> String {
        let reach = clusters.contains { $0.status != nil }
        let header = ["NAME", "SERVER", "LABELS", "SECONDARY", "AUTH"] + (reach ? ["STATE", "SINCE"] : [])
        let rows = clusters.map { v -> [String] in
            let c = v.cluster
            let labels = c.labels.values
            var row = [c.name, c.server, labels.isEmpty ? "<none>" : labels.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ","),
                       c.secondary ?? "<none>", c.auth]
            if reach {
                var state = v.status?.state ?? "Unknown"
                if v.status?.drained == true { state += ",Drained" } else if v.status?.cordoned == true { state += ",Cordoned" }
                row += [state, v.status?.stateSince ?? "-"]
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
