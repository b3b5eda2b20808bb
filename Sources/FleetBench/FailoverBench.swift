import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetKube
import FleetModel
import Foundation

extension BenchCommand {
    struct FailoverBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "failover",
            abstract: "Measure failover and failback: kill a cluster's simulator, time until its apps are Healthy on the secondary, and back.",
            discussion: """
            N simulated clusters, one process each; the last is a standby (env=dr) and the secondary of c0; the
            others run dirs Applications each. c0's simulator is killed (SIGKILL); then started again on its
            port (empty, like a rebuilt cluster). Reports detection, failover and failback times, and the
            Applications lost or owned twice after failback (both must be 0).
              flotilla bench failover                          (10 clusters, 112 dirs: 1,008 Applications, default probes)
              flotilla bench failover --probe-interval 1s
            """
        )

        @Option(help: "Simulated clusters (the last is the standby).") var clusters: Int = 10
        @Option(help: "App directories (Applications = dirs × (clusters − 1)).") var dirs: Int = 112
        @Option(help: "Probe interval.") var probeInterval: String = "5s"
        @Option(help: "Probe timeout.") var probeTimeout: String = "2s"
        @Option(help: "Hold-down before automatic failback.") var holdDown: String = "60s"
        @Option(help: "Latency the simulated API servers add.") var latency: String = "0ms"

        func validate() throws {
            if clusters < 3 { throw ValidationError("--clusters must be at least 3") }
        }

        func run() throws {
            var failover = HubConfiguration.Failover()
            failover.probeInterval = try parseDuration(probeInterval, flag: "--probe-interval").seconds
            failover.probeTimeout = try parseDuration(probeTimeout, flag: "--probe-timeout").seconds
            failover.holdDown = try parseDuration(holdDown, flag: "--hold-down").seconds
            let world = try HubBenchWorld(clusters: clusters, dirs: dirs, latency: latency, concurrency: 32, perCluster: 8,
                                          standby: true, simPerCluster: true, failover: failover)
            defer { world.stop() }
            let primary = "c0", standby = "c\(clusters - 1)"
            let apps = dirs * (clusters - 1)
            print("bench failover: \(clusters) clusters (\(standby) standby for \(primary)), \(apps) Applications (3 objects each), " +
                  "probe every \(probeInterval) (timeout \(probeTimeout)), \(failover.failureThreshold) failures / \(failover.recoveryThreshold) successes, hold-down \(holdDown)")
            try world.hub.start()
            guard world.wait(timeout: 600, { world.counts().healthy == apps }) != nil else { throw CLIError("first sync did not finish: \(world.counts())") }
            let moving = Set(try world.hub.store.applications(cluster: primary).map(\.name))
            print("  \(moving.count) Applications on \(primary) before the kill")

            // Failover.
            let killed = Date()
            world.killSim(primary)
            guard let detected = world.wait(timeout: 120, { world.hub.clusterState(primary).health.state == .unreachable }) else {
                throw CLIError("\(primary) was not found Unreachable within 120 s")
            }
            guard world.wait(timeout: 300, { (try? self.served(world, moving, on: standby)) == true }) != nil else {
                throw CLIError("the Applications of \(primary) were not Healthy on \(standby) within 300 s")
            }
            let failedOver = Date().timeIntervalSince(killed)
            print("  kill → \(primary) Unreachable:           \(String(format: "%6.2f s", detected))")
            print("  kill → all \(moving.count) Healthy on \(standby):     \(String(format: "%6.2f s", failedOver))   (sync after detection \(String(format: "%.2f s", failedOver - detected)))")

            // Failback.
            let restarted = Date()
            try world.startSim(primary)
            guard world.wait(timeout: 600, { (try? self.failedBack(world, moving, primary: primary, standby: standby)) == true }) != nil else {
                throw CLIError("failback did not complete within 600 s")
            }
            let back = Date().timeIntervalSince(restarted)
            print("  restart → failback complete:          \(String(format: "%6.2f s", back))   (includes the \(holdDown) hold-down; copies on \(standby) pruned)")

            let (lost, twice) = try audit(world, moving, primary: primary, standby: standby)
            print("  after failback: \(lost) Applications lost, \(twice) owned twice")
            let events = try world.hub.store.events()
            print("  events: \(events.filter { $0.type == "FailedOver" }.count) FailedOver, \(events.filter { $0.type == "FailedBack" }.count) FailedBack, \(events.filter { $0.type == "Pruned" }.count) Pruned")
        }

        /// Every Application of `names` runs on `cluster`, Synced and Healthy there.
        private func served(_ world: HubBenchWorld, _ names: Set<String>, on cluster: String) throws -> Bool {
            try world.hub.store.applications().filter { names.contains($0.name) }.allSatisfy {
                $0.activeCluster == cluster && $0.status["cluster"]?.stringValue == cluster
                    && $0.status.value(at: ["health", "status"]) == "Healthy" && $0.status.value(at: ["sync", "status"]) == "Synced"
            }
        }

        private func failedBack(_ world: HubBenchWorld, _ names: Set<String>, primary: String, standby: String) throws -> Bool {
            guard try served(world, names, on: primary) else { return false }
            guard try world.hub.store.placedApplications().isEmpty else { return false }
            return try owners(world, standby).intersection(names).isEmpty
        }

        /// Applications that own at least one object on `cluster`, with the objects each owns.
        private func ownedObjects(_ world: HubBenchWorld, _ cluster: String) throws -> [String: Int] {
            let client = KubeClient(cluster: Cluster(name: cluster, server: "http://127.0.0.1:\(world.ports[cluster]!)"), timeout: 30)
            var count: [String: Int] = [:]
            for (version, kind) in [("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment")] {
                for object in try client.list(try client.resource(apiVersion: version, kind: kind), labelSelector: "app.kubernetes.io/managed-by=flotilla") {
                    if let app = object.value(at: ["metadata", "annotations", "flotilla.io/application"])?.stringValue { count[app, default: 0] += 1 }
                }
            }
            return count
        }

        private func owners(_ world: HubBenchWorld, _ cluster: String) throws -> Set<String> { Set(try ownedObjects(world, cluster).keys) }

        /// Lost: an Application of `names` without its 3 objects on its primary. Twice: objects on both clusters.
        private func audit(_ world: HubBenchWorld, _ names: Set<String>, primary: String, standby: String) throws -> (Int, Int) {
            let onPrimary = try ownedObjects(world, primary), onStandby = try ownedObjects(world, standby)
            let lost = names.filter { onPrimary[$0] != 3 }.count
            let twice = names.filter { onPrimary[$0] != nil && onStandby[$0] != nil }.count
            return (lost, twice)
        }
    }
}
