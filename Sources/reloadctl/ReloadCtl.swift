import ArgumentParser
import Reload

@main
struct ReloadCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reloadctl",
        abstract: "Run Remap hosts, build modules and drive live reloads.",
        discussion: """
            Start a host on a folder of C modules, edit a file, and reload it:

              reloadctl run examples/particles --watch
              reloadctl demo
            """,
        version: Version.string,
        subcommands: [
            Demo.self, Run.self, Build.self, CFlags.self,
            ReloadCommand.self, Call.self, Get.self, Status.self, Modules.self, Stats.self, Ping.self, Collect.self,
        ]
    )
}
