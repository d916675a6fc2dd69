import type { Theme } from 'vitepress';
import DefaultTheme from 'vitepress/theme';
import ResNetDemo from './ResNetDemo.vue';
import './custom.css';

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component('ResNetDemo', ResNetDemo);
  },
} satisfies Theme;
