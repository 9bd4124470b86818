/* key_floor - the floor of key -> answer in a pseudo-terminal, for bench/run.sh.
 *
 * Puts its terminal in raw mode, prints "ready", waits for one read (a key), prints
 * "answered" at once, and exits half a second later. No program can answer a key sooner
 * than this one: the time it takes is the pty's and the probe's own (on a VM, mostly the
 * kernel's work queue that moves bytes between the two sides of the pty).
 */
#include <termios.h>
#include <unistd.h>

int main(void) {
    struct termios t;
    if (tcgetattr(0, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(0, TCSANOW, &t);
    }
    (void)!write(1, "ready\r\n", 7);
    char key[16];
    (void)!read(0, key, sizeof key);
    (void)!write(1, "answered\r\n", 10);
    usleep(500000);
    return 0;
}
