/*
 * bcryptprimitives.dll's ProcessPrng, for Wine releases that lack it
 * (Debian bookworm's Wine 8.0). Go 1.22 and later fill their random
 * numbers from ProcessPrng and abort at start-up without it. This stand-in
 * asks BCryptGenRandom, which Wine has, for the same bytes. Only the Windows
 * smoke test under Wine uses it; real Windows has its own.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
