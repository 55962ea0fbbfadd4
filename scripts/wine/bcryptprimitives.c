/*
 * bcryptprimitives.dll for Wine before 8.13, which lacks it.
 *
 * Go 1.22 and later load this DLL from system32 when a program starts and
 * take their random numbers from its ProcessPrng export. This stand-in
 * fills the buffer from advapi32's RtlGenRandom (exported as
 * SystemFunction036), which Wine 8.0 has. scripts/wine-setup.sh compiles
 * it with MinGW into the Wine prefix's system32.
 */
#include <windows.h>

/* RtlGenRandom; the length is a ULONG, so large requests go in pieces. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    const SIZE_T piece = 1u << 30;

    while (length > 0) {
        ULONG n = (ULONG)(length < piece ? length : piece);
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    /* Windows documents ProcessPrng as always returning TRUE. */
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
