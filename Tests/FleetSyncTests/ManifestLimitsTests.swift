import FleetGit
import FleetManifests
import FleetModel
import Foundation
import Testing

/// A working tree and a stand-in `kubectl` script for one test.
private final class Repo: @unchecked Sendable {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-limits-\(UUID().uuidString)")
    var tree: URL { root.appendingPathComponent("tree") }
    var work: URL { root.appendingPathComponent("work") }

    init(_ files: [String: String]) throws {
        for (path, text) in files {
            let url = tree.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
    }

    /// An executable script standing in for kubectl.
    func script(_ body: String) throws -> String {
        let url = root.appendingPathComponent("kubectl-\(UUID().uuidString.prefix(8))")
        try ("#!/bin/sh\n" + body + "\n").write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url.path
    }

    func loader(kubectl: String = "kubectl", _ configure: (inout ManifestLoader.Limits) -> Void = { _ in }) -> ManifestLoader {
        var limits = ManifestLoader.Limits()
        limits.workDirectory = work
        configure(&limits)
        return ManifestLoader(git: WorkingTreeGitSource(root: tree), kubectl: kubectl, limits: limits)
    }

    deinit { try? FileManager.default.removeItem(at: root) }
}

private let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n"
private let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"

@Test func aKustomizeThatNeverEndsIsStoppedAtTheTimeout() throws {
    let repo = try Repo(["app/kustomization.yaml": kustomization, "app/cm.yaml": cm])
    let hang = try repo.script("sleep 30")
    let started = Date()
    #expect {
        try repo.loader(kubectl: hang) { $0.subprocessTimeout = 1 }.load(repoURL: "local", revision: "HEAD", path: "app")
    } throws: { "\($0)".contains("did not finish within 1 s") && "\($0)".contains("limits.subprocessTimeout") }
    #expect(Date().timeIntervalSince(started) < 10)
}

@Test func remoteBasesNeedAnAllowedHost() throws {
    let remote = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml, 'https://github.com/acme/base//deploy?ref=v1']\n"
    let repo = try Repo(["app/kustomization.yaml": remote, "app/cm.yaml": cm])
    let ran = repo.root.appendingPathComponent("ran")
    let fake = try repo.script("touch '\(ran.path)'; cat <<'EOF'\n\(cm)EOF")
    #expect {
        try repo.loader(kubectl: fake).load(repoURL: "local", revision: "HEAD", path: "app")
    } throws: { "\($0)".contains("remote base 'https://github.com/acme/base//deploy?ref=v1'") && "\($0)".contains("limits.kustomizeRemoteHosts") }
    #expect(!FileManager.default.fileExists(atPath: ran.path), "kustomize must not run for a refused remote base")
    // With the host allowed, the render goes ahead.
    let objects = try repo.loader(kubectl: fake) { $0.remoteHosts = ["github.com"] }.load(repoURL: "local", revision: "HEAD", path: "app").objects
    #expect(objects.count == 1)
}

@Test func workCopiesArePrivateAndRemoved() throws {
    let repo = try Repo(["app/kustomization.yaml": kustomization, "app/cm.yaml": cm])
    let seen = repo.root.appendingPathComponent("seen")
    // The script records the permissions of the work copy's root (the directory above the repository copy).
    let fake = try repo.script("stat -c %a \"$(dirname \"$2\")\" > '\(seen.path)'; stat -c %a \"$(dirname \"$(dirname \"$2\")\")\" >> '\(seen.path)'; cat <<'EOF'\n\(cm)EOF")
    _ = try repo.loader(kubectl: fake).load(repoURL: "local", revision: "HEAD", path: "app")
    let modes = try String(contentsOf: seen, encoding: .utf8).split(separator: "\n")
    #expect(modes == ["700", "700"], "\(modes)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: repo.work.path).isEmpty)
    // What a killed process left behind is removed by the clean-up at start.
    try FileManager.default.createDirectory(at: repo.work.appendingPathComponent("flotilla-kustomize-left"), withIntermediateDirectories: true)
    ManifestLoader.cleanWorkDirectory(repo.work)
    #expect(try FileManager.default.contentsOfDirectory(atPath: repo.work.path).isEmpty)
}

@Test func anObjectOverTheSizeLimitIsRefusedBeforeAnyCluster() throws {
    let big = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k: '\(String(repeating: "x", count: 2 << 20))'}\n"
    let repo = try Repo(["app/big.yaml": big, "small/cm.yaml": cm])
    #expect {
        try repo.loader().load(repoURL: "local", revision: "HEAD", path: "app")
    } throws: { "\($0)".contains("ConfigMap/big in app/big.yaml") && "\($0)".contains("limits.manifestBytes") }
    #expect(try repo.loader().load(repoURL: "local", revision: "HEAD", path: "small").objects.count == 1)
}

@Test func concurrentLoadsOfOneSourceRenderOnce() throws {
    let repo = try Repo(["app/kustomization.yaml": kustomization, "app/cm.yaml": cm])
    let count = repo.root.appendingPathComponent("count")
    let fake = try repo.script("echo x >> '\(count.path)'; sleep 0.3; cat <<'EOF'\n\(cm)EOF")
    var limits = ManifestLoader.Limits()
    limits.workDirectory = repo.work
    let loader = ManifestLoader(git: WorkingTreeGitSource(root: repo.tree), kubectl: fake, cache: ManifestCache(), limits: limits)
    DispatchQueue.concurrentPerform(iterations: 8) { _ in _ = try? loader.load(repoURL: "local", revision: "HEAD", path: "app") }
    #expect(try String(contentsOf: count, encoding: .utf8).split(separator: "\n").count == 1)
}

/// Symbolic links are never followed, and a source holding one is refused with the links named (a link could
/// point at the hub's own files); sources without links in the same repository render.
@Test func symbolicLinksAreRefusedNotDropped() throws {
    let repo = try Repo(["app/cm.yaml": cm, "other/cm.yaml": cm])
    try FileManager.default.createSymbolicLink(atPath: repo.tree.appendingPathComponent("app/secret.yaml").path, withDestinationPath: "/etc/hostname")
    #expect {
        try repo.loader().load(repoURL: "local", revision: "HEAD", path: "app")
    } throws: { "\($0)".contains("holds symbolic links") && "\($0)".contains("app/secret.yaml") }
    #expect(try repo.loader().load(repoURL: "local", revision: "HEAD", path: "other").objects.count == 1)
}
