import FleetConfig
import FleetModel
import Foundation
import Testing

/// The issue's minimal file reads, with defaults for what it leaves out and paths relative to the file.
@Test func minimalConfiguration() throws {
    let config = try HubConfiguration.load("""
    listen: 127.0.0.1:8080
    dataDir: /var/lib/flotilla
    clusters: [fleet/clusters.yaml]
    applicationSets: [generators/]
    git: {pollInterval: 60s, webhookSecret: change-me}
    reconcile: {concurrency: 32, perCluster: 8, resync: 180s}
    """, file: "/etc/flotilla/hub.yaml")
    #expect(config.listen == "127.0.0.1:8080")
    #expect(config.dataDir == "/var/lib/flotilla")
    #expect(config.clusters == ["/etc/flotilla/fleet/clusters.yaml"])
    #expect(config.applicationSets == ["/etc/flotilla/generators/"])
    #expect(config.gitPollInterval == 60 && config.resync == 180)
    #expect(config.concurrency == 32 && config.perCluster == 8)
    #expect(config.logLevel == .info)
}

/// An empty file is the documented defaults.
@Test func defaults() throws {
    let config = try HubConfiguration.load("", file: "hub.yaml")
    #expect(config == HubConfiguration())
    #expect(config.gitPollInterval == 60 && config.resync == 180 && config.concurrency == 32 && config.perCluster == 8)
}

/// Environment variables override the file.
@Test func environmentOverrides() throws {
    let config = try HubConfiguration.load("listen: 127.0.0.1:8080\nreconcile: {concurrency: 4, perCluster: 2}\n", file: nil, environment: [
        "FLOTILLA_LISTEN": "0.0.0.0:9090", "FLOTILLA_RECONCILE_CONCURRENCY": "64", "FLOTILLA_RESYNC": "5m", "FLOTILLA_LOG_LEVEL": "debug",
    ])
    #expect(config.listen == "0.0.0.0:9090" && config.concurrency == 64 && config.perCluster == 2 && config.resync == 300 && config.logLevel == .debug)
}

/// Every problem at once, with line and field; secrets from files, never echoed.
@Test func problemsReportedTogether() {
    let files = MemoryFiles(files: ["/cfg/token": "ghp_secret_value\n"])
    do {
        _ = try HubConfiguration.load("""
        listen: nowhere
        git: {pollInterval: soon, webhookSecret: short}
        reconcile: {concurrency: 0, perCluster: 4, resync: 0s, retries: 3}
        repositories:
          - {url: 'https://github.com/acme/apps', tokenFile: token}
          - {username: x}
        logLevel: chatty
        extra: 1
        """, file: "/cfg/hub.yaml", environment: ["FLOTILLA_RECONCILE_PER_CLUSTER": "many"], files: files)
        Issue.record("expected errors")
    } catch {
        let text = "\(error)"
        for expected in [
            "/cfg/hub.yaml:2:21: git.pollInterval: 'soon' is not a duration",
            "/cfg/hub.yaml:3:56: reconcile.retries: unknown field 'retries'",
            "repositories[1].url: required field is missing",
            "/cfg/hub.yaml:8:1: extra: unknown field 'extra'",
            "reconcile.perCluster: FLOTILLA_RECONCILE_PER_CLUSTER='many' is not an integer",
            "/cfg/hub.yaml:1:9: listen: 'nowhere' must be HOST:PORT",
            "logLevel: 'chatty' is not one of",
            "/cfg/hub.yaml:3:26: reconcile.concurrency: must be at least 1",
            "reconcile.resync: must be between 1s and 365 days",
            "git.webhookSecret: is too short",
        ] {
            #expect(text.contains(expected), "missing '\(expected)' in:\n\(text)")
        }
        #expect(!text.contains("ghp_secret_value") && !text.contains("short,") )
    }
}

/// Repository credentials are read from files and never shown in descriptions.
@Test func repositoryCredentials() throws {
    let files = MemoryFiles(files: ["/cfg/token": "ghp_secret_value\n"])
    let config = try HubConfiguration.load("repositories: [{url: 'https://github.com/acme/apps', tokenFile: token}]\n", file: "/cfg/hub.yaml", files: files)
    #expect(config.repositories.first?.password == "ghp_secret_value")
    #expect(config.repositories.first?.username == "x-access-token")
    #expect(!"\(config.repositories)".contains("ghp_secret_value"))
}

/// The example hub.yaml in the repository loads.
@Test func exampleHubFileLoads() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fleet/hub.yaml").path
    let config = try HubConfiguration.load(try String(contentsOfFile: path, encoding: .utf8), file: path)
    #expect(config.clusters.first?.hasSuffix("fleet/clusters.yaml") == true)
}

/// The PostgreSQL store, the replica and the leases: read from the file (the URL from a file or the environment,
/// never shown), checked together with line and field.
@Test func replicasConfiguration() throws {
    let files = MemoryFiles(files: ["/cfg/pg-url": "postgres://flotilla:pg-secret@db:5432/hub\n"])
    let config = try HubConfiguration.load("""
    store: {postgres: {urlFile: pg-url, keyFile: keys/secret.key, maxConnections: 8}}
    replica: {name: hub-a, address: 'https://hub-a.example:8080'}
    lease: {renew: 500ms, duration: 3s}
    """, file: "/cfg/hub.yaml", files: files)
    #expect(config.store.postgres?.url == "postgres://flotilla:pg-secret@db:5432/hub")
    #expect(config.store.postgres?.keyFile == "/cfg/keys/secret.key" && config.store.postgres?.maxConnections == 8)
    #expect(config.replicaName == "hub-a" && config.replicaAddress == "https://hub-a.example:8080")
    #expect(config.lease.renew == 0.5 && config.lease.duration == 3)
    #expect(!"\(config.store)".contains("pg-secret"))
    let fromEnvironment = try HubConfiguration.load("", file: nil, environment: ["FLOTILLA_POSTGRES_URL": "postgres://u:p@h/db", "FLOTILLA_REPLICA": "r2"])
    #expect(fromEnvironment.store.postgres?.url == "postgres://u:p@h/db" && fromEnvironment.replicaName == "r2")
    #expect(HubConfiguration().store.postgres == nil && HubConfiguration().lease.renew == 2 && HubConfiguration().lease.duration == 10)

    do {
        _ = try HubConfiguration.load("""
        store: {postgres: {url: 'mysql://u:leaked@h/db', maxConnections: 0, pool: 3}}
        replica: {name: 'two words'}
        lease: {renew: 5s, duration: 6s}
        """, file: "/cfg/hub.yaml", environment: ["FLOTILLA_POSTGRES_URL": "nonsense-with-secret"])
        Issue.record("expected errors")
    } catch {
        let text = "\(error)"
        for expected in [
            "store.postgres.pool: unknown field 'pool'",
            "store.postgres.url: must be a postgres://",
            "store.postgres.maxConnections: must be between 1 and 1000",
            "replica.name: must be 1 to 63 characters without spaces",
            "lease.duration: must be at least twice lease.renew",
        ] {
            #expect(text.contains(expected), "missing '\(expected)' in:\n\(text)")
        }
        #expect(!text.contains("leaked") && !text.contains("nonsense-with-secret"), "\(text)")
    }
}

/// Argo CD's Lua health customizations: directories (relative to the configuration) and scripts by GROUP/KIND.
@Test func resourceCustomizationsAreRead() throws {
    let config = try HubConfiguration.load("""
        resourceCustomizations:
          directories: [customizations]
          health:
            cert-manager.io/Certificate: |
              return {status = "Healthy"}
        """, file: "/etc/flotilla/hub.yaml")
    #expect(config.resourceCustomizations.directories == ["/etc/flotilla/customizations"])
    #expect(config.resourceCustomizations.health["cert-manager.io/Certificate"]?.contains("Healthy") == true)
    #expect(throws: (any Error).self) { try HubConfiguration.load("resourceCustomizations: {scripts: []}\n", file: "hub.yaml") }
}
