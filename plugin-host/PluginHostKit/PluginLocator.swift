import Foundation

/// Finds the plugin executable named on the command line.
enum PluginLocator {
    /// `name` as a path when it contains a `/` or names a file here; otherwise the first
    /// executable of that name in `PATH`, then in `hostDirectory` (by default the folder
    /// holding plugin-host's own executable, symbolic links resolved), so that an installed
    /// or unpacked release finds the plugins shipped beside it without any `PATH` set-up.
    /// A name found nowhere is returned as given, so that starting it reports the failure.
    static func locate(_ name: String, environment: [String: String],
                       hostDirectory: URL? = ownDirectory) -> URL {
        let files = FileManager.default
        if name.contains("/") || files.fileExists(atPath: name) {
            return URL(fileURLWithPath: name)
        }
        var directories = (environment["PATH"] ?? "").split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        if let hostDirectory { directories.append(hostDirectory) }
        for directory in directories {
            let candidate = directory.appendingPathComponent(name)
            if files.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: name)
    }

    /// The folder of the running executable, whatever link it was started through.
    static var ownDirectory: URL? {
        Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent()
    }
}
