import FleetPostgres
import Foundation

/// The tests' PostgreSQL server: a `LocalPostgres`.
public typealias TestPostgres = LocalPostgres

extension LocalPostgres {
    /// One server for the whole test process, started on first use; nil when PostgreSQL's programs are missing or it
    /// could not start (the reason is printed once).
    public static let shared: TestPostgres? = {
        do {
            guard let server = try LocalPostgres() else {
                print("PostgreSQL (initdb, pg_ctl) is not installed: the PostgreSQL tests are skipped")
                return nil
            }
            atexit { LocalPostgres.shared?.stop() }
            return server
        } catch {
            print("a test PostgreSQL could not start: \(error)")
            return nil
        }
    }()
}
