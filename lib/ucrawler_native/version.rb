# frozen_string_literal: true

module UcrawlerNative
  VERSION = "0.1.0"
end
