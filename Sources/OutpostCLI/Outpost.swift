import ArgumentParser

/// The `outpost` command: thin commands that parse arguments, call a library, and print.
/// Each capability registers its command group here (one line each).
@main
struct Outpost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost",
        abstract: "Bring Kubernetes software to bare-metal sites with no network.",
        version: "0.1.0",
        subcommands: [
            // capability command groups, one line each:
            ChartCommands.self,
            SiteCommands.self,
            TalosCommands.self,
            PackageCommand.self,
            KeysCommand.self,
            InitCommand.self,
            AgentCommands.self,
            ToolsCommands.self,
            MediaCommands.self,
            ImageCacheCommands.self,
        ]
    )
}
