import ArgumentParser
import FleetCLIKit
import Foundation

@main
struct Flotilla: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flotilla",
        abstract: "Keep a fleet of Kubernetes clusters in step with git.",
        version: "0.1.0",
        subcommands: [ClusterCommand.self, ServeCommand.self, UpCommand.self, AppCommand.self, AppSetCommand.self, EventsCommand.self, ReplicasCommand.self, AccountCommand.self, TokenCommand.self, CanICommand.self, SecretsCommand.self, StoreCommand.self, GenerateCommand.self, ApplyCommand.self, DiffCommand.self, GetCommand.self, SimCommand.self, RepoCommand.self, RenderCommand.self, LuaCommand.self, PolicyCommand.self, PromoteCommand.self, ApproveCommand.self, PromotionCommand.self, ReportCommand.self, BenchCommand.self, ImportCommand.self, JsonnetEvalCommand.self]
    )

    static func main() async { await runAsRoot() }
}
