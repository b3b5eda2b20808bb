import Crypto
import FleetModel
import FleetStore
import Foundation
import PostgresNIO

/// Copying a hub's state from SQLite into PostgreSQL (`flotilla store migrate`): every table, row for row, in one
/// transaction, into a database that holds no hub state yet; then each table's row count and checksum, read back,
/// compared with the source's.
extension PostgresHubStore {
    /// Columns that SQLite keeps as 0/1 integers and PostgreSQL as booleans.
    static let booleanColumns: Set<String> = ["cluster.cluster_resources", "cluster_state.cordoned", "cluster_state.drained",
                                              "cluster_state.failback_requested"]

    /// Rows already in the hub's tables (a target must be empty).
    public func stateRows() throws -> Int {
        try pool.withConnection { db in
            try SQLiteClusterStore.stateTables.reduce(0) { total, table in
                total + Int(try db.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \(table)")).first!.makeRandomAccess()["n"].decode(Int64.self))
            }
        }
    }

    /// Inserts every row of `tables` in one transaction (nothing is written if any row fails), then moves the
    /// event id sequence past the copied events.
    public func importTables(_ tables: [StoredTable]) throws {
        try pool.transaction { db in
            for table in tables {
                let columns = table.columns.joined(separator: ", ")
                let marks = table.columns.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                let sql = "INSERT INTO \(table.name) (\(columns)) VALUES (\(marks))"
                for row in table.rows {
                    var binds = PostgresBindings()
                    for (column, value) in zip(table.columns, row) {
                        let boolean = Self.booleanColumns.contains("\(table.name).\(column)")
                        switch value {
                        case .null: binds.appendNull()
                        case .integer(let i): if boolean { binds.append(i != 0) } else if column == "id" && table.name == "event" { binds.append(i) } else { binds.append(Int(i)) }
                        case .real(let d): binds.append(d)
                        case .text(let s): binds.append(s)
                        case .blob(let b): try binds.append(b)
                        }
                    }
                    try db.execute(PostgresQuery(unsafeSQL: sql, binds: binds))
                }
            }
            try db.execute("SELECT setval(pg_get_serial_sequence('event', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM event), 1))")
        }
    }

    /// Each table's row count and SHA-256 over its rows in canonical form, ordered by primary key (booleans as 0/1,
    /// as SQLite stores them).
    public func checksums(columns: [String: [String]]) throws -> [String: (rows: Int, sha256: String)] {
        try pool.withConnection { db in
            var result: [String: (Int, String)] = [:]
            for table in SQLiteClusterStore.stateTables {
                guard let names = columns[table] else { continue }
                let keys = Self.primaryKeys[table] ?? "1"
                let rows = try db.query(PostgresQuery(unsafeSQL: "SELECT \(names.joined(separator: ", ")) FROM \(table) ORDER BY \(keys)"))
                var values: [[StoredValue]] = []
                for row in rows {
                    let r = row.makeRandomAccess()
                    values.append(try names.map { column -> StoredValue in
                        let cell = r[column]
                        if cell.bytes == nil { return .null }
                        if Self.booleanColumns.contains("\(table).\(column)") { return .integer(try cell.decode(Bool.self) ? 1 : 0) }
                        switch cell.dataType {
                        case .bytea: return .blob(try cell.decode(Data.self))
                        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
                        case .float4, .float8: return .real(try cell.decode(Double.self))
                        default: return .text(try cell.decode(String.self))
                        }
                    })
                }
                result[table] = (values.count, Self.checksum(values))
            }
            return result
        }
    }

    static let primaryKeys = ["cluster": "name", "account": "name", "token": "id", "application": "name", "sync_history": "application, id",
                              "application_set": "name", "pending_prune": "application, cluster", "cluster_state": "name", "event": "id"]

    /// SHA-256 over rows in canonical form.
    public static func checksum(_ rows: [[StoredValue]]) -> String {
        var hasher = SHA256()
        for row in rows {
            hasher.update(data: Data(row.map(\.canonical).joined(separator: "\u{1f}").utf8))
            hasher.update(data: Data([0x1e]))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
