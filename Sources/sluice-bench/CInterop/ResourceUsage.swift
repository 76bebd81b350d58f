import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU time, minor page faults and peak resident memory, as `getrusage` counts them.
struct ResourceUsage: Codable, Sendable {
    var userSeconds = 0.0
    var systemSeconds = 0.0
    var minorFaults = 0
    /// Voluntary and involuntary context switches.
    var contextSwitches = 0
    /// The largest resident set, in kB.
    var maxResidentKilobytes = 0

    var cpuSeconds: Double { userSeconds + systemSeconds }

    /// This process's own usage.
    static func current() -> ResourceUsage { read(RUSAGE_SELF) }

    /// The usage of this process's children that have ended and been waited for (and of their
    /// waited-for descendants).
    static func children() -> ResourceUsage { read(RUSAGE_CHILDREN) }

    private static func read(_ who: __rusage_who) -> ResourceUsage {
        var usage = rusage()
        guard getrusage(__rusage_who_t(who.rawValue), &usage) == 0 else { return ResourceUsage() }
        return ResourceUsage(userSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
                             systemSeconds: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
                             minorFaults: usage.ru_minflt, contextSwitches: usage.ru_nvcsw + usage.ru_nivcsw, maxResidentKilobytes: usage.ru_maxrss)
    }

    /// The counts of `self` minus those of `other` (the peak is kept as it is).
    func minus(_ other: ResourceUsage) -> ResourceUsage {
        ResourceUsage(userSeconds: userSeconds - other.userSeconds, systemSeconds: systemSeconds - other.systemSeconds,
                      minorFaults: minorFaults - other.minorFaults, contextSwitches: contextSwitches - other.contextSwitches,
                      maxResidentKilobytes: maxResidentKilobytes)
    }
}
