import PluginHostKit

/// `plugin-host`: everything it does lives in PluginHostKit; this executable only starts it.
@main
enum PluginHostCommand {
    static func main() async {
        await PluginHostMain.run()
    }
}
