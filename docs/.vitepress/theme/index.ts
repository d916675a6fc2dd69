import type { Theme } from 'vitepress';
import DefaultTheme from 'vitepress/theme';
import CheckpointPanel from './demo/CheckpointPanel.vue';
import FashionPanel from './demo/FashionPanel.vue';
import TeachablePanel from './demo/TeachablePanel.vue';
import ResNetDemo from './ResNetDemo.vue';
import './custom.css';

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component('ResNetDemo', ResNetDemo);
    app.component('FashionPanel', FashionPanel);
    app.component('CheckpointPanel', CheckpointPanel);
    app.component('TeachablePanel', TeachablePanel);
  },
} satisfies Theme;
