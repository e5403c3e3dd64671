"""Window-level evaluation (TAnoGAN's protocol): one label and one flag per test window, window-level PA."""
