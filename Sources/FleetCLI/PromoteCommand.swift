import ArgumentParser
import FleetAPI
import FleetCLIKit
import FleetModel
import Foundation

/// `flotilla promote`, `flotilla approve`, `flotilla promotion`: promotions across environments (docs/progressive.md).
struct PromoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Promote the revision a stage runs Synced and Healthy to the next stage (its gate permitting).",
        discussion: "Example: flotilla promote web --to prod")
    @OptionGroup var hub: ServerOptions
    @Argument(help: "The promotion.") var name: String
    @Option(help: "The stage to promote to.") var to: String

    func run() throws {
        let answer = try hub.client.send("POST", "/api/v1/promotions/\(HubClient.escape(name))/promote", ["stage": to], answer: JSONValue.self)
        let apps = answer["applications"]?.arrayValue?.compactMap(\.stringValue) ?? []
        print("promoted \(answer["revision"]?.stringValue ?? "?") to \(to): \(apps.count) Application\(apps.count == 1 ? "" : "s") pinned and syncing (\(apps.joined(separator: ", ")))")
    }
}

struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve promoting to a stage the revision the stage before it runs (recorded with who approved).",
        discussion: "Example: flotilla approve web --stage prod")
    @OptionGroup var hub: ServerOptions
    @Argument(help: "The promotion.") var name: String
    @Option(help: "The stage whose promotion is approved.") var stage: String

    func run() throws {
        let answer = try hub.client.send("POST", "/api/v1/promotions/\(HubClient.escape(name))/approve", ["stage": stage], answer: JSONValue.self)
        print("approved \(answer["approved"]?.stringValue ?? "?") for \(stage) of \(name) by \(answer["by"]?.stringValue ?? "?")")
    }
}

struct PromotionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promotion",
        abstract: "Show a promotion's stages: the revision each runs, since when, and what blocks the next step.")
    @OptionGroup var hub: ServerOptions
    @Argument(help: "The promotion.") var name: String
    @Option(name: .shortAndLong, help: "table, json or yaml.") var output: OutputFormat = .table

    func run() throws {
        let p = try hub.client.get(PromotionInfo.self, "/api/v1/promotions/\(HubClient.escape(name))")
        AppCommand.show(p, output) {
            "Promotion \(p.name) of ApplicationSet \(p.applicationSet)\n" + TextTable.render(
                header: ["STAGE", "APPLICATIONS", "REVISION", "HEALTHY", "SINCE", "GATE", "BLOCKED BY"],
                rows: p.stages.map { s in
                    [s.name, "\(s.applications.count)", s.revision.map { String($0.prefix(12)) } ?? "-", s.healthy ? "yes" : "no", s.since ?? "-", s.gate, s.blockedBy ?? "-"]
                })
        }
    }
}
