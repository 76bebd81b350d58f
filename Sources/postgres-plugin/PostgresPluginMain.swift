import PostgresPlugin
import SluiceSDK

/// `postgres-plugin`: serves the Sluice protocol on stdin/stdout.
@main
struct PostgresPluginMain {
    static func main() async {
        await PluginMain.run(PostgresPlugin())
    }
}
