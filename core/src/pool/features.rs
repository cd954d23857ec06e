//! CPU feature vectors as xapi writes them: 32-bit words in hex joined by `-`
//! (`1fcbfbff-f7fa3223-…`), empty meaning unknown (docs/pool-operations.md#cpu-info).

/// Parses a feature vector; `None` when empty (unknown) or not hex words.
pub fn parse(text: &str) -> Option<Vec<u32>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    text.split('-')
        .map(|w| u32::from_str_radix(w, 16).ok())
        .collect()
}

/// Writes a feature vector back in xapi's form.
pub fn render(words: &[u32]) -> String {
    words
        .iter()
        .map(|w| format!("{w:08x}"))
        .collect::<Vec<_>>()
        .join("-")
}

/// Word-by-word AND, zero-extending the shorter vector (xenopsd's levelling).
pub fn level(a: &[u32], b: &[u32]) -> Vec<u32> {
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).copied().unwrap_or(0) & b.get(i).copied().unwrap_or(0))
        .collect()
}

/// The name Xen gives a bit of its featureset (`cpufeatureset.h`), for the words whose
/// layout every Xen since 4.7 shares: 0 = CPUID 1 EDX, 1 = 1 ECX, 2 = 0x80000001 EDX,
/// 3 = 0x80000001 ECX, 4 = 0xD/1 EAX, 5 = 7/0 EBX, 6 = 7/0 ECX. `None` for other bits.
pub fn name(word: usize, bit: u8) -> Option<&'static str> {
    const WORDS: [[&str; 32]; 7] = [
        [
            "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep",
            "mtrr", "pge", "mca", "cmov", "pat", "pse36", "", "clflush", "", "ds", "acpi", "mmx",
            "fxsr", "sse", "sse2", "ss", "htt", "tm1", "", "pbe",
        ],
        [
            "sse3",
            "pclmulqdq",
            "dtes64",
            "monitor",
            "ds_cpl",
            "vmx",
            "smx",
            "est",
            "tm2",
            "ssse3",
            "",
            "",
            "fma",
            "cx16",
            "xtpr",
            "pdcm",
            "",
            "pcid",
            "dca",
            "sse4_1",
            "sse4_2",
            "x2apic",
            "movbe",
            "popcnt",
            "tsc_deadline",
            "aesni",
            "xsave",
            "osxsave",
            "avx",
            "f16c",
            "rdrand",
            "hypervisor",
        ],
        [
            "", "", "", "", "", "", "", "", "", "", "", "syscall", "", "", "", "", "", "", "", "",
            "nx", "", "mmxext", "", "", "ffxsr", "page1gb", "rdtscp", "", "lm", "3dnowext",
            "3dnow",
        ],
        [
            "lahf_lm",
            "cmp_legacy",
            "svm",
            "extapic",
            "cr8_legacy",
            "abm",
            "sse4a",
            "misalignsse",
            "3dnowprefetch",
            "osvw",
            "ibs",
            "xop",
            "skinit",
            "wdt",
            "",
            "lwp",
            "fma4",
            "",
            "",
            "nodeid_msr",
            "",
            "tbm",
            "topoext",
            "perfctr_core",
            "perfctr_nb",
            "",
            "dbext",
            "",
            "",
            "monitorx",
            "",
            "",
        ],
        [
            "xsaveopt", "xsavec", "xgetbv1", "xsaves", "", "", "", "", "", "", "", "", "", "", "",
            "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
        ],
        [
            "fsgsbase",
            "tsc_adjust",
            "sgx",
            "bmi1",
            "hle",
            "avx2",
            "fdp_excp_only",
            "smep",
            "bmi2",
            "erms",
            "invpcid",
            "rtm",
            "pqm",
            "no_fpu_sel",
            "mpx",
            "pqe",
            "avx512f",
            "avx512dq",
            "rdseed",
            "adx",
            "smap",
            "avx512_ifma",
            "",
            "clflushopt",
            "clwb",
            "",
            "avx512pf",
            "avx512er",
            "avx512cd",
            "sha",
            "avx512bw",
            "avx512vl",
        ],
        [
            "prefetchwt1",
            "avx512_vbmi",
            "umip",
            "pku",
            "ospke",
            "",
            "avx512_vbmi2",
            "cet_ss",
            "gfni",
            "vaes",
            "vpclmulqdq",
            "avx512_vnni",
            "avx512_bitalg",
            "",
            "avx512_vpopcntdq",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "rdpid",
            "",
            "",
            "cldemote",
            "",
            "movdiri",
            "movdir64b",
            "",
            "",
            "",
        ],
    ];
    WORDS
        .get(word)
        .and_then(|w| w.get(usize::from(bit)))
        .copied()
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_parse_render_and_level() {
        let pool = parse("0000000f-80000000").unwrap();
        let mine = parse("00000005").unwrap();
        assert_eq!(render(&level(&pool, &mine)), "00000005-00000000");
        assert_eq!(parse(""), None);
        assert_eq!(parse("zz"), None);
    }

    #[test]
    fn well_known_bits_have_their_xen_names() {
        assert_eq!(name(0, 25), Some("sse"));
        assert_eq!(name(1, 20), Some("sse4_2"));
        assert_eq!(name(5, 5), Some("avx2"));
        assert_eq!(name(0, 10), None, "reserved");
        assert_eq!(name(9, 0), None, "a word without a table");
    }
}
