import Foundation
import SluiceSystemC

/// `sluice_spawn` with Swift strings: the C edge of ``ChildProcess``.
enum Spawn {
    /// Starts `path` with `arguments` (argv[0] is `path`) and `environment` (nil: this
    /// process's), its standard descriptors `stdio`; returns its pid, or the errno value.
    static func start(_ path: String, arguments: [String], environment: [String: String]?,
                      stdio: (Int32, Int32, Int32)) -> Result<pid_t, SpawnError> {
        let argv = [path] + arguments
        let envp = environment.map { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } }
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnvp = envp.map { $0.map { strdup($0) } + [nil] }
        defer {
            cArgv.forEach { free($0) }
            cEnvp?.forEach { free($0) }
        }
        var pid: pid_t = 0
        let descriptors: [Int32] = [stdio.0, stdio.1, stdio.2]
        let result = descriptors.withUnsafeBufferPointer { fds in
            cArgv.withUnsafeBufferPointer { argvPointer in
                if let cEnvp {
                    return cEnvp.withUnsafeBufferPointer { envpPointer in
                        sluice_spawn(path, argvPointer.baseAddress, envpPointer.baseAddress, fds.baseAddress, &pid)
                    }
                }
                return sluice_spawn(path, argvPointer.baseAddress, nil, fds.baseAddress, &pid)
            }
        }
        guard result == 0 else { return .failure(SpawnError(path: path, code: result)) }
        return .success(pid)
    }
}
