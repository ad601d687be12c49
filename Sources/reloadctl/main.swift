import ArgumentParser
import Reload

@main
struct ReloadCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reloadctl",
        abstract: "Run Remap hosts and drive live reloads.",
        version: Version.string
    )
}
