import ArgumentParser
import FleetCLIKit
import FleetModel
import FleetPostgres
import FleetStore
import Foundation

/// `flotilla store migrate`: a hub's state from SQLite into PostgreSQL, to run it as several replicas.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Move a hub's state between stores.",
        subcommands: [Migrate.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Copy a hub's state from its SQLite store into an empty PostgreSQL database, verified by counts and checksums.",
            discussion: """
              Stop the hub first. Every table (clusters with their sealed credentials, Applications, history, pending
              prunes, placements, cluster states, events, accounts, tokens, ApplicationSets added through the API) is
              copied in one transaction, then read back and compared table by table. The credentials stay sealed with
              the hub's key: give every replica that key file (store.postgres.keyFile; default DATA_DIR/secret.key).
              The password is read from --to-file or FLOTILLA_POSTGRES_URL when the URL given has none.
              Example:
                flotilla store migrate --from sqlite:/var/lib/flotilla --to postgres://flotilla@db:5432/flotilla --to-file /run/secrets/pg-url
              """)

        @Option(help: "The hub's data directory, as sqlite:PATH (or PATH).") var from: String
        @Option(help: "The PostgreSQL database, as postgres://USER@HOST:PORT/DATABASE (no password here: see --to-file).") var to: String?
        @Option(help: "A file holding the PostgreSQL URL (with its password).") var toFile: String?

        func run() throws {
            let path = from.hasPrefix("sqlite:") ? String(from.dropFirst("sqlite:".count)) : from
            let directory = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(SQLiteClusterStore.fileName).path) else {
                throw CLIError("no hub store in \(path) (expected \(SQLiteClusterStore.fileName) there)")
            }
            var text = to
            if let toFile { text = try String(contentsOfFile: toFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
            if text == nil || text == "postgres" { text = ProcessInfo.processInfo.environment["FLOTILLA_POSTGRES_URL"] }
            guard let text else { throw CLIError("give the target with --to postgres://…, --to-file FILE or FLOTILLA_POSTGRES_URL") }
            let url = try PostgresURL(parsing: text)
            let source = try SQLiteClusterStore(directory: directory)
            let tables = try source.exportTables()
            let target = try PostgresHubStore(url: url, keyFile: directory.appendingPathComponent("secret.key").path, replica: "migrate", maxConnections: 2)
            defer { target.close() }
            let existing = try target.stateRows()
            guard existing == 0 else {
                throw CLIError("\(url.redacted) already holds \(existing) rows of a hub's state: migrate into an empty database")
            }
            try target.importTables(tables)
            let copied = try target.checksums(columns: Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.columns) }))
            var rows: [[String]] = []
            var mismatched: [String] = []
            for table in tables {
                let expected = (table.rows.count, PostgresHubStore.checksum(table.rows))
                let got = copied[table.name]
                let same = got?.rows == expected.0 && got?.sha256 == expected.1
                if !same { mismatched.append(table.name) }
                rows.append([table.name, "\(expected.0)", "\(got?.rows ?? -1)", String(expected.1.prefix(16)), same ? "ok" : "MISMATCH"])
            }
            print(TextTable.render(header: ["TABLE", "SQLITE ROWS", "POSTGRES ROWS", "SHA-256", "CHECK"], rows: rows))
            guard mismatched.isEmpty else {
                throw CLIError("the copy differs in \(mismatched.joined(separator: ", ")): drop the target database's tables and run again")
            }
            print("copied \(tables.reduce(0) { $0 + $1.rows.count }) rows into \(url.redacted); set store.postgres in the hub configuration and give every replica the key file \(directory.appendingPathComponent("secret.key").path)")
        }
    }
}
