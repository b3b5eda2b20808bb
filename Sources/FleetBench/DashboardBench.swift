import FleetCLIKit
import FleetHub
import FleetKube
import FleetModel
import Foundation

/// `bench hub --scenario dashboard`: the dashboard's pages over HTTP on loopback, served by the hub of the bench
/// world (every Application stored and queued), beside the API's list of one page for comparison.
enum DashboardBench {
    static func run(world: HubBenchWorld, apps: Int, runs: Int, last: String) throws {
        guard let token = world.hub.bootstrapToken else { throw CLIError("the bench hub minted no admin token") }
        let server = BenchHTTPServer(hub: world.hub)
        defer { server.stop() }
        let transport = HTTPTransport(server: "http://127.0.0.1:\(server.port)", credentials: ClusterCredentials(bearerToken: token), timeout: 60)
        func get(_ path: String) throws -> (seconds: Double, bytes: Int) {
            let start = DispatchTime.now().uptimeNanoseconds
            let r = try transport.request("GET", path, accept: "text/html")
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            guard r.status == 200 else { throw CLIError("GET \(path) answered \(r.status): \(r.text.prefix(300))") }
            return (seconds, r.body.count)
        }
        let stored = try world.hub.store.count()
        guard stored == apps else { throw CLIError("\(stored) of \(apps) Applications were stored: the figure would not measure what it says") }
        let first = try get("/ui/applications")
        print("  first view after start: GET /ui/applications \(String(format: "%.1f", first.seconds * 1000)) ms (\(first.bytes / 1024) KiB)")
        let pages = [
            "/ui/applications", "/ui/applications?after=app5-c50", "/ui/applications?q=app42-", "/ui/applications?cluster=c7",
            "/ui/applications?health=Degraded", "/ui/applications?selector=app%3Dapp7", "/ui/applications?rows=label:app",
            "/ui/fleet", "/ui/applications/\(last)", "/api/v1/applications?limit=50",
        ]
        print("  \(runs) requests each, whole answer on loopback (its first byte comes no later), p50 / p95 / max:")
        for path in pages {
            var times: [Double] = []
            var bytes = 0
            for _ in 0..<runs {
                let (s, b) = try get(path)
                times.append(s * 1000)
                bytes = b
            }
            times.sort()
            func at(_ q: Double) -> Double { times[min(times.count - 1, Int(Double(times.count) * q))] }
            print("    GET \(path.padding(toLength: 44, withPad: " ", startingAt: 0)) \(String(format: "%7.1f %7.1f %7.1f ms", at(0.5), at(0.95), times.last ?? 0))   \(bytes / 1024) KiB")
        }
    }
}
